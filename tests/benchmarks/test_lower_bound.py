"""run_benchmark's dbt-alone reference: the figures dbt_alone.py reports are read from its
output, and floor + dbt alone is set beside the platform's measured run."""

from __future__ import annotations

import sys

from benchmarks.run_benchmark import lower_bounds, measure, summarise


def _scenario(*runs: dict) -> dict:
    full = [
        {"peak_rss_mib": 100.0, "first_step_s": None, "after_last_step_s": None, "dbt_s": None, "steps": {}, **r}
        for r in runs
    ]
    return {"summary": summarise(full)}


def test_a_reported_benchmark_line_becomes_part_of_the_run():
    code = 'print("dbt says hello"); print("BENCHMARK {\\"dbt_import_s\\": 0.5, \\"dbt_build_s\\": 1.25}")'
    run = measure([sys.executable, "-c", code], env={})
    assert run["dbt_import_s"] == 0.5 and run["dbt_build_s"] == 1.25
    assert run["wall_s"] > 0


def test_floor_plus_dbt_alone_uses_the_medians_of_dbts_own_figures_not_its_process_wall_time():
    scenarios = {
        "floor_day": _scenario({"wall_s": 1.0}, {"wall_s": 1.2}, {"wall_s": 0.8}),
        # wall time includes an interpreter start and a Dagster import the floor already counts
        "dbt_day": _scenario(
            *({"wall_s": 9.0, "dbt_import_s": i, "dbt_build_s": b} for i, b in [(0.7, 1.5), (0.8, 1.4), (0.9, 1.3)])
        ),
        "day": _scenario({"wall_s": 5.0}, {"wall_s": 4.0}, {"wall_s": 6.0}),
        "floor_year": _scenario({"wall_s": 2.0}),  # no dbt_year: no bound for the year
        "year": _scenario({"wall_s": 10.0}),
    }
    bounds = lower_bounds(scenarios)
    assert set(bounds) == {"day"}
    day = bounds["day"]
    assert abs(day["dbt_s"] - (0.8 + 1.4)) < 1e-9
    assert abs(day["bound_s"] - (1.0 + 0.8 + 1.4)) < 1e-9
    assert abs(day["bound_ratio"] - 3.2) < 1e-9
    assert day["measured_s"] == 5.0 and day["measured_ratio"] == 5.0
