"""Benchmark the platform beside Dagster's own floor, exactly as users run it: the ``dagster`` CLI.

Usage (from the repo root; ``make benchmark`` runs it with the defaults)::

    .venv/bin/python benchmarks/run_benchmark.py [--repeats 3] [--scale 10]
        [--start 2013-01-01 --end 2013-12-31] [--day 2013-06-15]
        [--only floor_day,day,...] [--label standard] [--instance project|fresh]

Scenarios
---------
All run in one invocation, **alternating**: round 1 runs every scenario once, then round 2,
and so on, so a slow spell of the machine hits every scenario alike.

``floor_day`` / ``floor_year``
    ``benchmarks/floor/definitions.py``: 12 chained no-op daily-partitioned assets with
    ``BackfillPolicy.single_run()``, run with the same command, instance (``dagster.yaml``:
    PostgreSQL storage on the embedded server) and executor as the platform: what Dagster's
    own bookkeeping costs for our shape.
``day``
    every asset and check of the platform for one partition (``--partition DAY``).
``year``
    every asset and check for START..END as one ranged run (``--partition-range``).
``checks_only``
    ``platform-assets check --start START --end END``: every asset check (Python and dbt)
    on what the warehouse holds, nothing materialized.
``dbt_day`` / ``dbt_year``
    the dbt project alone (``benchmarks/dbt_alone.py``): importing dbt after Dagster, then one
    ``dbt build`` with ``dbtRunner`` and the flags, connection and partial-parse state the
    platform's dbt step uses, for DAY and for START..END, without Dagster's run. ``floor +
    dbt alone`` is then a lower bound for ``day`` / ``year`` as long as their runs include
    the dbt models and tests (see :func:`lower_bounds`).
``scaled``
    the year with every flight repeated ``--scale`` times under distinct flight numbers
    (``benchmarks/scale_landing.py``), in its own landing zone, lake and warehouse database
    (``warehouse_x<N>`` on the embedded server), so it never touches the real data.

Before measuring, the sample drops for START..END are published (idempotent), the scaled
landing zone is written if needed, and one single-day run per configuration is made and
thrown away (embedded server up, tables and dbt relations created, bytecode warm).

What is recorded per run
------------------------
* ``wall_s``: process start to exit (``time.perf_counter``).
* ``peak_rss_mib``: the largest summed resident set size of the command and all its
  descendants (step workers, dbt), sampled every 0.1 s with psutil. The embedded
  PostgreSQL server is not a descendant and is excluded. Summed RSS counts pages shared
  between processes more than once, so it is an upper bound; spikes shorter than a sample
  can be missed.
* ``first_step_s``: process start until the first ``STEP_START`` line (imports, loading the
  definitions, creating the run and its planned events); ``after_last_step_s``: last
  ``STEP_SUCCESS`` line to exit. Observed by polling the output, accurate to ~0.1 s.
* ``steps``: per-step durations as Dagster reports them; ``dbt_s`` is the dbt step's.

The summary gives median and min-max per scenario, and each platform scenario's median
divided by the matching floor's median (``day``/``floor_day``, ``year`` and ``scaled`` /
``floor_year``). Each scenario's figures are appended as a row of the history,
``benchmarks/results/standard.csv`` (date, commit, ``--label``, host, the floor and dbt alone
of the same invocation); every round and step of the invocation goes to
``benchmarks/results/standard.json``, replaced by the next one.
Compare only results from the same machine; quote them only from a quiet machine. To
compare two checkouts, run both with ``--instance fresh``: each then starts from an empty
Dagster instance instead of its own history (see :func:`fresh_instance`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg

from platform_assets.local_instance import EVENT_LOG_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from benchmarks import history  # noqa: E402

POLL_S = 0.1
MIB = 1024 * 1024
SCENARIOS = ("floor_day", "day", "floor_year", "year", "checks_only", "dbt_day", "dbt_year", "scaled")
FLOOR = {
    "day": "floor_day",
    "year": "floor_year",
    "scaled": "floor_year",
    "dbt_day": "floor_day",
    "dbt_year": "floor_year",
}
#: platform scenario -> (its floor, dbt alone over the same window)
LOWER_BOUND = {"day": ("floor_day", "dbt_day"), "year": ("floor_year", "dbt_year")}
DBT_STEP = "dbt_models"
WINDOW_ENV = ("PLATFORM_DBT_MIN_DATE", "PLATFORM_DBT_MAX_DATE")  # the dbt-alone scenarios' window

STEP_RE = re.compile(
    r'STEP_SUCCESS - Finished execution of step "([^"]+)" in ((?:\d+h)?(?:\d+m)?(?:\d+(?:\.\d+)?(?:ms|s))?)\.'
)
UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float:
    """Convert a Dagster duration (``0.83ms``, ``533ms``, ``5.6s``, ``4m52s``, ``1h4m``) to seconds.

    Raises:
        ValueError: ``text`` is not such a duration.
    """
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"unrecognised Dagster duration {text!r}")
    return sum(float(n) * UNIT_S[u] for n, u in parts)


def _tree_rss(proc: psutil.Process) -> int:
    """Summed RSS in bytes of ``proc`` and its descendants, skipping postgres server processes."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            if member.name().startswith(("postgres", "postmaster")):
                continue
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass  # exited between listing and sampling
    return total


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def measure(cmd: list[str], env: dict[str, str], server_rss: Callable[[psutil.Process], int] | None = None) -> dict:
    """Run ``cmd`` once; return wall time, peak tree RSS, first-step and after-last-step times, step durations.

    ``server_rss``, when given, is called with the command's process at each sample and
    returns bytes to add to the tree's (e.g. the warehouse's backends): ``peak_rss_mib`` is then the peak of their sum, with ``peak_tree_mib`` and
    ``peak_server_mib`` the peaks of each part. Exits the benchmark with the tail of the
    output if the command fails.
    """
    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        log_path = Path(tmp) / "output.log"
        with open(log_path, "wb") as sink, open(log_path, "rb") as reader:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
            ps = psutil.Process(proc.pid)
            peak = 0
            pending = b""
            first_step_at = last_step_at = None

            def scan(now: float) -> None:
                nonlocal pending, first_step_at, last_step_at
                *lines, pending = (pending + reader.read()).split(b"\n")
                for line in lines:
                    if first_step_at is None and b" - STEP_START - " in line:
                        first_step_at = now
                    if b" - STEP_SUCCESS - " in line:
                        last_step_at = now

            peak_tree = peak_server = 0
            while True:
                tree = _tree_rss(ps)
                server = server_rss(ps) if server_rss else 0
                peak, peak_tree, peak_server = max(peak, tree + server), max(peak_tree, tree), max(peak_server, server)
                scan(time.perf_counter() - start)
                try:
                    code = proc.wait(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
            wall = time.perf_counter() - start
            scan(wall)
        if code != 0:
            sys.exit(f"FAILED (exit {code}): {shlex.join(cmd)}\n--- last lines of output ---\n{_tail(log_path)}")
        text = log_path.read_text(errors="replace")
    steps = {name: round(parse_duration(d), 3) for name, d in STEP_RE.findall(text)}
    reported = [json.loads(m) for m in re.findall(r"^BENCHMARK (\{.*\})$", text, flags=re.MULTILINE)]
    return {
        **(reported[-1] if reported else {}),
        "wall_s": round(wall, 3),
        "peak_rss_mib": round(peak / MIB, 1),
        **(
            {"peak_tree_mib": round(peak_tree / MIB, 1), "peak_server_mib": round(peak_server / MIB, 1)}
            if server_rss
            else {}
        ),
        "first_step_s": None if first_step_at is None else round(first_step_at, 2),
        "after_last_step_s": None if last_step_at is None else round(wall - last_step_at, 2),
        "dbt_s": steps.get(DBT_STEP),
        "steps": steps,
    }


def spread(values: list[float]) -> dict:
    """Median, min and max of ``values`` (all None when empty)."""
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise(runs: list[dict]) -> dict:
    """Median and min-max of every per-run figure and of each step over ``runs``."""
    keys = ("wall_s", "peak_rss_mib", "first_step_s", "after_last_step_s", "dbt_s", "dbt_import_s", "dbt_build_s")
    summary = {key: spread([r[key] for r in runs if r.get(key) is not None]) for key in keys}
    names = dict.fromkeys(name for r in runs for name in r["steps"])  # execution order, deduplicated
    summary["steps"] = {n: spread([r["steps"][n] for r in runs if n in r["steps"]]) for n in names}
    return summary


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def markdown(scenarios: dict, meta: dict) -> str:
    """Render the scenario table (with ratios to the floor) and the per-step tables as Markdown."""
    m = meta["machine"]
    out = [
        f"# Benchmark {meta['date']}",
        "",
        f"{meta['repeats']} run(s) per scenario, alternating; {m['cpu_count']} CPUs, {m['memory_gib']} GiB RAM, "
        f"Python {m['python']}, Dagster {m['dagster']}, executor `{meta['executor']}`; window "
        f"{meta['window']}, day {meta['day']}, scaled = {meta['scale']}x the flights "
        f"({meta.get('scaled_flights', '?')} flights).",
        "",
        "| scenario | wall median (s) | min-max (s) | × floor | to first step (s) | dbt (s) | peak RSS median (MiB) | min-max (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, sc in scenarios.items():
        s = sc["summary"]
        w, r = s["wall_s"], s["peak_rss_mib"]
        floor = scenarios.get(FLOOR.get(name, ""), {}).get("summary", {}).get("wall_s", {}).get("median")
        ratio = f"{w['median'] / floor:.1f}" if floor else "–"
        out.append(
            f"| {name} | {w['median']:.1f} | {w['min']:.1f}-{w['max']:.1f} | {ratio} "
            f"| {_fmt(s['first_step_s']['median'], '.1f')} | {_fmt(s['dbt_s']['median'], '.1f')} "
            f"| {r['median']:.0f} | {r['min']:.0f}-{r['max']:.0f} |"
        )
    bounds = lower_bounds(scenarios)
    if bounds:
        out += [
            "",
            "Lower bound while a run includes dbt: the floor plus dbt alone over the same window (importing "
            "dbt after Dagster, and its `dbt build`; medians), i.e. Dagster's bookkeeping and dbt's own work with "
            "nothing of the platform's Python steps, checks or dagster-dbt:",
            "",
            "| scenario | dbt alone (s) | floor + dbt alone (s) | × floor | measured (s) | × floor |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, b in bounds.items():
            out.append(
                f"| {name} | {b['dbt_s']:.2f} | {b['bound_s']:.1f} | {b['bound_ratio']:.2f} "
                f"| {b['measured_s']:.1f} | {b['measured_ratio']:.1f} |"
            )
    for name in ("day", "year", "scaled"):
        if name not in scenarios:
            continue
        steps = scenarios[name]["summary"]["steps"]
        total = sum(s["median"] for s in steps.values())
        out += [
            "",
            f"Where the time goes, `{name}` (step durations as Dagster reports them; "
            f"sum of step medians {total:.1f} s):",
            "",
            "| step | median (s) | min-max (s) |",
            "|---|---:|---:|",
        ]
        for step, s in sorted(steps.items(), key=lambda kv: -kv[1]["median"])[:15]:
            out.append(f"| {step} | {s['median']:.2f} | {s['min']:.2f}-{s['max']:.2f} |")
    out += ["", "Commands:", ""] + [f"- {name}: `{sc['command']}`" for name, sc in scenarios.items()]
    return "\n".join(out) + "\n"


def lower_bounds(scenarios: dict) -> dict:
    """Per platform scenario with its floor and dbt-alone scenarios measured: floor + dbt alone, and ratios.

    dbt alone is importing dbt after Dagster plus its ``dbt build`` (medians of what
    ``benchmarks/dbt_alone.py`` reports; not its process's wall time, whose interpreter start
    and Dagster import the floor already counts). Returns ``{name: {dbt_s, bound_s,
    bound_ratio, measured_s, measured_ratio}}`` (seconds, medians; ratios to the floor's
    median); scenarios missing one of the three are left out.
    """
    med = {name: sc["summary"]["wall_s"]["median"] for name, sc in scenarios.items()}
    out = {}
    for name, (floor, dbt) in LOWER_BOUND.items():
        if name in med and floor in med and dbt in med:
            s = scenarios[dbt]["summary"]
            dbt_s = s["dbt_import_s"]["median"] + s["dbt_build_s"]["median"]
            bound = med[floor] + dbt_s
            out[name] = {
                "dbt_s": dbt_s,
                "bound_s": bound,
                "bound_ratio": bound / med[floor],
                "measured_s": med[name],
                "measured_ratio": med[name] / med[floor],
            }
    return out


def dbt_alone(base: dict[str, str], first: dt.date, last: dt.date) -> tuple[list[str], dict[str, str]]:
    """Command and environment of ``benchmarks/dbt_alone.py`` for ``first..last``: dbt as the platform's step runs it, without Dagster's run.

    Same warehouse connection (``PLATFORM_PG*``), window variables and kept partial-parse
    state as :func:`platform_assets.assets.dbt.dbt_models`; dbt's artifacts go to
    ``dbt_project/target/benchmark``.
    """
    sys.path.insert(0, str(ROOT))
    from platform_assets.assets.dbt import (
        DBT_PROJECT_DIR,
        partial_parse_state,
        seed_partial_parse,
    )
    from platform_assets.resources.warehouse import WarehouseResource

    connection = WarehouseResource(url="").dbt_env()
    target = DBT_PROJECT_DIR / "target" / "benchmark"
    target.mkdir(parents=True, exist_ok=True)
    seed_partial_parse(target, partial_parse_state(DBT_PROJECT_DIR / "target", connection))
    env = dict(base, **connection, PLATFORM_DBT_MIN_DATE=str(first), PLATFORM_DBT_MAX_DATE=str(last))
    return [str(BIN / "python"), "benchmarks/dbt_alone.py", "--target-path", os.path.relpath(target, ROOT)], env


def _cli(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(BIN / "platform-assets"), *args], cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"FAILED: platform-assets {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def fresh_instance(project_url: str, name: str = "dagster_bench") -> str:
    """A new, empty Dagster storage database beside the project instance's, for this invocation.

    ``project_url`` is the project instance's SQLAlchemy URL (``platform-assets instance-url``);
    database ``name`` on the same server is dropped if it exists and created again, and its
    URL returned (Dagster creates its tables on first use). Dagster's bookkeeping grows with
    an instance's history: the floor's year took 8.7 s on the project's instance holding
    522,000 events and 8.2 s on a new one (medians of 4, alternating, 2026-12-02), so
    checkouts compared each on their own instance can differ before their code does.
    """
    from platform_assets.resources.embedded_postgres import ensure_database

    parts = urlsplit(project_url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    ensure_database(admin, name)
    return urlunsplit(parts._replace(path=f"/{name}"))


def scaled_env(base: dict[str, str], factor: int) -> tuple[dict[str, str], int]:
    """Environment of the scaled scenario (own landing zone, lake and warehouse database) and its flights count.

    Writes the scaled landing zone with ``benchmarks/scale_landing.py`` (a no-op when it is current)
    and creates the ``warehouse_x<N>`` database on the embedded server.
    """
    sys.path.insert(0, str(ROOT))
    from benchmarks.scale_landing import scale_landing
    from platform_assets.resources.embedded_postgres import ensure_database
    from platform_assets.resources.storage import StorageResource

    home = f"data/bench/x{factor}"
    counts = scale_landing(StorageResource(url="data/landing"), StorageResource(url=f"{home}/landing"), factor)
    url = urlsplit(_cli("warehouse-url"))
    database = f"warehouse_x{factor}"
    ensure_database(urlunsplit(url._replace(path="/postgres")), database)
    env = dict(
        base,
        PLATFORM_LANDING_URL=f"{home}/landing",
        PLATFORM_LAKE_URL=f"{home}/lake",
        PLATFORM_WAREHOUSE_URL=urlunsplit(url._replace(path=f"/{database}")),
    )
    return env, counts["flights_rows"]


def main(argv: list[str] | None = None) -> int:
    """Prepare the instance and data, measure the scenarios in alternating rounds, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="measured runs per scenario (default 3)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2013, 1, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2013, 12, 31))
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2013, 6, 15))
    parser.add_argument("--scale", type=int, default=10, help="copies of every flight in the scaled scenario")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument(
        "--label", default="standard", help="names the configuration in the history (e.g. batch400k; default standard)"
    )
    parser.add_argument(
        "--instance",
        choices=("project", "fresh"),
        default="project",
        help="project (default): the project's Dagster instance, its history included; fresh: a new, empty "
        "instance database (dagster_bench, same dagster.yaml), re-created for this invocation: use it when "
        "comparing checkouts",
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(chosen) - set(SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}")

    instance_url = _cli("instance-url")
    if args.instance == "fresh":
        instance_url = fresh_instance(instance_url)
    env = dict(os.environ, DAGSTER_HOME=str(ROOT), DAGSTER_POSTGRES_URL=instance_url, **EVENT_LOG_SETTINGS)
    for name in ("PLATFORM_WAREHOUSE_URL", "PLATFORM_LANDING_URL", "PLATFORM_LAKE_URL"):
        env.pop(name, None)  # the benchmark measures the embedded default
    print(_cli("publish-sample", "--start", str(args.start), "--end", str(args.end)), file=sys.stderr)

    window = f"{args.start}...{args.end}"
    platform_cmd = [str(BIN / "dagster"), "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*"]
    floor_cmd = [str(BIN / "dagster"), "asset", "materialize", "-f", "benchmarks/floor/definitions.py", "--select", "*"]
    commands = {
        "floor_day": (floor_cmd + ["--partition", str(args.day)], env),
        "day": (platform_cmd + ["--partition", str(args.day)], env),
        "floor_year": (floor_cmd + ["--partition-range", window], env),
        "year": (platform_cmd + ["--partition-range", window], env),
        "checks_only": (
            [str(BIN / "platform-assets"), "check", "--start", str(args.start), "--end", str(args.end)],
            env,
        ),
    }
    for name, (first, last) in {"dbt_day": (args.day, args.day), "dbt_year": (args.start, args.end)}.items():
        if name in chosen:
            commands[name] = dbt_alone(env, first, last)
    meta_extra = {}
    if "scaled" in chosen:
        senv, flights = scaled_env(env, args.scale)
        commands["scaled"] = (platform_cmd + ["--partition-range", window], senv)
        meta_extra["scaled_flights"] = flights
    commands = {k: v for k, v in commands.items() if k in chosen}

    warm = {id(e): e for name, (_, e) in commands.items() if not name.startswith("dbt_")}
    print(f"warm-up: one single-day run per configuration ({len(warm)}), not counted", file=sys.stderr)
    for e in warm.values():
        measure(platform_cmd + ["--partition", str(args.day)], e)
    for name in ("dbt_day", "dbt_year"):  # dbt's partial-parse state settled as in the platform's runs
        if name in commands:
            measure(*commands[name])

    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for i in range(args.repeats):
        for name, (cmd, e) in commands.items():
            runs[name].append(measure(cmd, e))
            last = runs[name][-1]
            print(
                f"round {i + 1}/{args.repeats} {name}: {last['wall_s']:.1f}s, peak {last['peak_rss_mib']:.0f} MiB",
                file=sys.stderr,
            )

    scenarios = {
        name: {
            "command": shlex.join(
                [*(f"{k}={e[k]}" for k in WINDOW_ENV if k in e), os.path.relpath(cmd[0], ROOT), *cmd[1:]]
            ),
            "env": {k: e[k] for k in ("PLATFORM_LANDING_URL", "PLATFORM_LAKE_URL", *WINDOW_ENV) if k in e},
            "runs": runs[name],
            "summary": summarise(runs[name]),
        }
        for name, (cmd, e) in commands.items()
    }
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "repeats": args.repeats,
        "window": window,
        "day": str(args.day),
        "scale": args.scale,
        "executor": env.get("PLATFORM_EXECUTOR", "in_process"),
        "instance": args.instance,
        "machine": {
            "cpu_count": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "dagster": version("dagster"),
        },
        **meta_extra,
        "lower_bounds": lower_bounds(scenarios),
    }
    table = markdown(scenarios, meta)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {**meta, "scenarios": scenarios}
    (RESULTS / "standard.json").write_text(json.dumps(document, indent=2) + "\n")
    history.append(
        RESULTS / "standard.csv", history.STANDARD_FIELDS, history.standard_rows(document, history.commit(), args.label)
    )
    print(f"appended to {RESULTS / 'standard.csv'}; detail in {RESULTS / 'standard.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
