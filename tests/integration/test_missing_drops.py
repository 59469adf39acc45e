"""A daily source declared ``missing_drop: empty`` (weather) runs a day without its drop as
an empty, reported day: the run succeeds, its checks pass on the empty window, and the
day's flights still reach the marts."""

from __future__ import annotations

import datetime as dt

from tests.integration.conftest import query

DAY = dt.date(2013, 1, 15)


def test_a_missing_weather_drop_is_an_empty_reported_day(landing, warehouse, run_window):
    key = f"weather/{DAY}.csv"
    original = landing.read_bytes(key)
    landing.delete(key)
    try:
        result = run_window(DAY, DAY, raise_on_error=False)
        retried = [e.step_key for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert (result.success, failed, retried) == (True, [], [])
        reported = [m.metadata["missing_drops"].value for m in result.asset_materializations_for_node("raw_weather")]
        assert reported == [[str(DAY)]]
        weather_checks = {
            e.event_specific_data.check_name: e.event_specific_data.passed
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.event_specific_data.asset_key.to_user_string() == "clean_weather"
            and e.event_specific_data.check_name != "freshness_check"
        }
        assert weather_checks == {
            "clean_weather": True,
            "clean_weather_plausibility": True,
            "raw_equals_clean_plus_quarantined": True,
            "quarantine_share_within_limit": True,
        }
        assert query(warehouse, "select count(*) from clean.weather where observation_date = %s", (DAY,)) == [(0,)]
        flights = landing.read_bytes(f"flights/{DAY}.csv").decode().count("\n") - 1
        assert query(warehouse, "select count(*) from analytics.fct_flights where flight_date = %s", (DAY,)) == [
            (flights,)
        ]
    finally:
        landing.write_bytes(key, original)
        run_window(DAY, DAY)  # the day as delivered again, for the other tests of this session
