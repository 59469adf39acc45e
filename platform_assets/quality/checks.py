"""Asset-check factories: pandera models, reconciliation and referential integrity as Dagster checks.

Every check is partition-aware: on a partitioned asset it validates exactly the run's
partition window (one day or a backfill range), read back from the warehouse, and names
the window in its metadata. ERROR checks are ``blocking``: when one fails, downstream
assets (dbt models included) do not run in that run, and the previous good data stays in
place.

The checks are not *partitioned* in Dagster's sense (no ``partitions_def``): one
evaluation covers the run's whole window, so it is recorded once per run. A partitioned
check makes Dagster store one planned row per partition and check before a run starts
(3,650 rows, about 10 s, for a year with our ten window checks), and a ranged evaluation
leaves those rows PLANNED for good.

All checks of one asset run in **one step** (``@multi_asset_check`` named
``<asset>_checks``, subsettable): each check is an evaluator producing its
``AssetCheckResult`` from the step's resources, and the pandera models of one table share
a single read of the window. One step instead of one per check saves Dagster's per-step
bookkeeping, and reading the window once instead of twice halves the checks' I/O.
"""

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import dagster as dg
import pandera.polars as pa
import polars as pl

from platform_assets.assets.common import TRANSIENT_RETRY, preview, window_bounds, window_dates
from platform_assets.assets.raw import raw_lake_key
from platform_assets.chunking import batch_rows, plan_chunks, prefetch_one
from platform_assets.partitions import partition_bounds
from platform_assets.quality import anomaly, schemas
from platform_assets.quality.routing import failure_cases, rule_name
from platform_assets.quality.rule_schema import rules_schema
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource, read_window_batches, repeated_grain_rows
from platform_assets.sources.contract import classify_landing_keys
from platform_assets.sources.declaration import SourceDeclaration
from platform_assets.sources.registry import source_specs
from platform_assets.tables import FLIGHT_DAILY_METRICS, TableSpec

FAILURE_SAMPLE_ROWS = 10


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _number(value: object) -> float:
    """A column aggregate as a float; 0.0 for an empty column (null)."""
    return float(value) if isinstance(value, int | float) else 0.0


def _window(context: dg.AssetCheckExecutionContext, partitioned: bool):
    return window_bounds(context) if partitioned else None


def _window_metadata(window) -> dict[str, str]:
    return {"partition_window": f"{window[0]}..{window[1]}" if window else "whole table"}


@dataclass(frozen=True)
class CheckInputs:
    """What an evaluator gets: the step's context and resources."""

    context: dg.AssetCheckExecutionContext
    warehouse: WarehouseResource
    lake: StorageResource
    landing: StorageResource


@dataclass(frozen=True)
class CheckGroup:
    """Checks evaluated together: their specs, and a function yielding a result for each selected one.

    ``evaluate(inputs, selected)`` gets the set of selected ``AssetCheckKey`` and yields one
    ``AssetCheckResult`` (with ``asset_key`` and ``check_name``) per selected spec.
    """

    specs: list[dg.AssetCheckSpec]
    evaluate: Callable[[CheckInputs, set[dg.AssetCheckKey]], Iterator[dg.AssetCheckResult]]


def single_check(spec: dg.AssetCheckSpec, evaluate: Callable[[CheckInputs], dg.AssetCheckResult]) -> CheckGroup:
    """A group of one check; ``evaluate``'s result is labelled with the spec's asset and name."""

    def _evaluate(inputs: CheckInputs, selected: set[dg.AssetCheckKey]) -> Iterator[dg.AssetCheckResult]:
        if spec.key in selected:
            result = evaluate(inputs)
            yield dg.AssetCheckResult(
                asset_key=spec.asset_key,
                check_name=spec.name,
                passed=result.passed,
                severity=result.severity,
                description=result.description,
                metadata=result.metadata,
            )

    return CheckGroup(specs=[spec], evaluate=_evaluate)


def checks_step(asset: str, groups: list[CheckGroup]) -> dg.AssetChecksDefinition:
    """One subsettable ``@multi_asset_check`` step, ``<asset>_checks``, running every group of an asset."""
    specs = [spec for group in groups for spec in group.specs]

    # Checks read the warehouse and the lake: transient faults heal like the assets' do.
    @dg.multi_asset_check(specs=specs, name=f"{asset}_checks", can_subset=True, retry_policy=TRANSIENT_RETRY)
    def _checks(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        lake: StorageResource,
        landing: StorageResource,
    ) -> Iterator[dg.AssetCheckResult]:
        inputs = CheckInputs(context, warehouse, lake, landing)
        selected = set(context.selected_asset_check_keys)
        for group in groups:
            yield from group.evaluate(inputs, selected)

    return _checks


def _failure_sample(frame: pl.DataFrame, failures: pl.DataFrame, rows: int) -> pl.DataFrame:
    """Up to ``rows`` failing rows of ``frame`` with the rules each broke (lineage columns dropped)."""
    indices = failures["index"].drop_nulls().unique().sort().head(rows).to_list()
    rule_of_row = (
        failures.filter(pl.col("index").is_in(indices))
        .group_by("index")
        .agg(broken_rules=pl.col("check").unique().sort().str.join(", "))
    )
    return (
        frame.with_row_index("index")
        .with_columns(pl.col("index").cast(pl.Int32))
        .join(rule_of_row, on="index")
        .drop("index", "source_file", "landed_at", strict=False)
        .select("broken_rules", pl.exclude("broken_rules"))
    )


@dataclass(frozen=True)
class Validation:
    """One pandera check: its name, the schema or model, severity and description.

    A day with more rows than the batch budget is validated a batch at a time with
    ``batch_schema`` (the rules that judge each row on its own), and the rules comparing
    rows (``grain`` unique, rule ``grain_rule``) are judged by the warehouse over the whole
    day. Without a ``batch_schema`` the whole schema validates each batch.
    """

    name: str
    schema: pa.DataFrameSchema | type[pa.DataFrameModel]
    severity: dg.AssetCheckSeverity
    description: str
    batch_schema: pa.DataFrameSchema | None = None
    grain: tuple[str, ...] = ()
    grain_rule: str = ""


def model_validation(model: type[pa.DataFrameModel], severity: dg.AssetCheckSeverity) -> Validation:
    """A hand-written pandera model as a check named after it (``FlightDailyMetrics`` -> ``flight_daily_metrics``)."""
    description = (model.__doc__ or "").strip().splitlines()[
        0
    ] + f" Rules: pandera model `{model.__module__}.{model.__name__}`."
    return Validation(_snake(model.__name__), model, severity, description)


@dataclass
class Tally:
    """One pandera check's findings over the batches it has seen."""

    failures: int = 0
    failing_rows: int = 0
    by_rule: Counter = field(default_factory=Counter)
    samples: list[pl.DataFrame] = field(default_factory=list)

    def validate(self, frame: pl.DataFrame, schema: pa.DataFrameSchema | type[pa.DataFrameModel]) -> None:
        """Validate one batch with ``schema`` and add its failures."""
        failures = failure_cases(frame, schema)
        self.failures += failures.height
        self.failing_rows += failures["index"].drop_nulls().n_unique()
        rules = failures.with_columns(rule=rule_name(pl.col("schema_context"), pl.col("column"), pl.col("check")))
        self.by_rule.update(dict(rules.group_by("rule").len().iter_rows()))
        room = FAILURE_SAMPLE_ROWS - sum(x.height for x in self.samples)
        if room > 0 and failures.height:
            self.samples.append(_failure_sample(frame, failures, room))

    def add_repeats(self, rows: int, rule: str) -> None:
        """Add ``rows`` rows that repeat an earlier row's grain key (found by the warehouse)."""
        if rows:
            self.failures += rows
            self.failing_rows += rows
            self.by_rule[rule] += rows

    def as_json(self) -> dict:
        """Failures, failing rows, failures per rule and a Markdown sample of failing rows."""
        sample = pl.concat(self.samples, how="diagonal_relaxed") if self.samples else pl.DataFrame()
        return {
            "failures": self.failures,
            "failing_rows": self.failing_rows,
            "by_rule": dict(self.by_rule.most_common()),
            "failure_sample": preview(sample, FAILURE_SAMPLE_ROWS).value,
        }


#: Run metadata key under which a clean step records the validation of the rows it wrote.
VALIDATED_WHILE_WRITING = "validated_while_writing"


def source_validations(declared: SourceDeclaration) -> list[Validation]:
    """The pandera checks of ``clean_<source>``: the declared ERROR rules that read clean
    columns plus the table's types and nullability, and the WARN rules (when declared)."""
    asset, table = f"clean_{declared.name}", declared.table_spec
    rules = declared.row_rules()
    row_local = [r for r in rules if not r.across_rows]
    validations = [
        Validation(
            asset,
            rules_schema(asset, table, rules, "error"),
            ERROR,
            f"`{table.qualified_name}` holds the declared rules: types, required columns, ranges, patterns, allowed "
            "values, cross-column rules and the grain's uniqueness (the rules the clean step routed rows by).",
            batch_schema=rules_schema(asset, table, row_local, "error"),
            grain=table.grain,
            grain_rule=declared.duplicate_rule().name,
        )
    ]
    if any(r.severity == "warn" and r.on_clean for r in rules):
        validations.append(
            Validation(
                f"{asset}_plausibility",
                rules_schema(f"{asset}_plausibility", table, rules, "warn"),
                WARN,
                f"`{table.qualified_name}` physical plausibility (the declared WARN rules): reported, not blocking.",
                batch_schema=rules_schema(f"{asset}_plausibility", table, row_local, "warn"),
            )
        )
    return validations


def _validated_in_this_run(context: dg.AssetCheckExecutionContext, asset: str, window) -> dict | None:
    """What this run's materialization of ``asset`` recorded of validating the rows it wrote
    for ``window`` (:data:`VALIDATED_WHILE_WRITING`), or None (e.g. a checks-only run)."""
    newest = window[1].isoformat()
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[newest]), limit=1
    ).records
    if not records or records[0].event_log_entry.run_id != context.run.run_id:
        return None
    materialization = records[0].asset_materialization
    recorded = materialization.metadata.get(VALIDATED_WHILE_WRITING) if materialization else None
    if recorded is None or recorded.value.get("partition_window") != f"{window[0]}..{window[1]}":
        return None
    return recorded.value


def pandera_checks(asset: str, spec: TableSpec, validations: list[Validation], partitioned: bool) -> CheckGroup:
    """Checks validating ``spec``'s rows (the run's window) with pandera, one per validation.

    When this run's step materializing ``asset`` validated the rows as it wrote them (the
    clean steps do, :data:`VALIDATED_WHILE_WRITING`), its findings are the result and
    nothing is read back. Otherwise (a checks-only run) the selected validations share one
    read of the window, a batch at a time. ERROR severity makes a check blocking. Metadata
    per check: rows checked, failing rows, failures per rule, a Markdown sample of failing
    rows with the rules they broke, the partition window, and how the rows were validated.
    """
    check_specs = {
        dg.AssetCheckKey(dg.AssetKey(asset), v.name): (
            dg.AssetCheckSpec(
                name=v.name,
                asset=asset,
                description=v.description,
                blocking=v.severity == dg.AssetCheckSeverity.ERROR,
            ),
            v,
        )
        for v in validations
    }

    def _read_back(
        warehouse: WarehouseResource, window: tuple[dt.date, dt.date] | None, chosen: dict
    ) -> tuple[int, dict]:
        budget = batch_rows()
        # Whole-day chunks under the batch budget are validated in memory, uniqueness
        # included (every model's grain holds the day, see platform_assets.chunking); a day
        # over the budget is streamed a batch at a time and its grain judged by the warehouse.
        rows_per_day = warehouse.rows_per_day(spec, window) if window else {}
        chunks: list[tuple[dt.date, dt.date] | None] = (
            list(plan_chunks(window[0], window[1], rows_per_day, budget)) if window else [None]
        )
        tallies = {key: Tally() for key in chosen}
        rows_checked = 0

        def frames():
            for chunk in chunks:
                oversized = chunk is not None and chunk[0] == chunk[1] and rows_per_day.get(chunk[0], 0) > budget
                for frame in read_window_batches(warehouse, spec, chunk, budget):
                    yield frame, oversized
                if oversized:
                    yield chunk, None  # the day's rows comparing with each other: judged in SQL

        for frame, oversized in prefetch_one(frames()):
            if oversized is None:
                for key, (_check, v) in chosen.items():
                    if v.batch_schema is not None and v.grain:
                        tallies[key].add_repeats(repeated_grain_rows(warehouse, spec, v.grain, frame), v.grain_rule)
                continue
            rows_checked += frame.height
            for key, (_check, v) in chosen.items():
                tallies[key].validate(frame, v.batch_schema if oversized and v.batch_schema is not None else v.schema)
        return rows_checked, {key: t.as_json() for key, t in tallies.items()}

    def _evaluate(inputs: CheckInputs, selected: set[dg.AssetCheckKey]) -> Iterator[dg.AssetCheckResult]:
        chosen = {key: value for key, value in check_specs.items() if key in selected}
        if not chosen:
            return
        window = _window(inputs.context, partitioned)
        recorded = _validated_in_this_run(inputs.context, asset, window) if window else None
        if recorded is not None and all(key.name in recorded["checks"] for key in chosen):
            rows_checked = recorded["rows_checked"]
            found = {key: recorded["checks"][key.name] for key in chosen}
            how = "as this run's materialization wrote them"
        else:
            rows_checked, found = _read_back(inputs.warehouse, window, chosen)
            how = "read back from the warehouse"
        for key, (check_spec, v) in chosen.items():
            t = found[key]
            yield dg.AssetCheckResult(
                asset_key=check_spec.asset_key,
                check_name=check_spec.name,
                passed=t["failures"] == 0,
                severity=v.severity,
                metadata={
                    **_window_metadata(window),
                    "rows_checked": rows_checked,
                    "failing_rows": t["failing_rows"],
                    "failures_by_rule": dg.MetadataValue.json(t["by_rule"]),
                    "failure_sample": dg.MetadataValue.md(t["failure_sample"]),
                    "validated": how,
                },
            )

    return CheckGroup(specs=[v[0] for v in check_specs.values()], evaluate=_evaluate)


def reconciliation_check(declared: SourceDeclaration) -> CheckGroup:
    """Blocking check on ``clean_<source>``: raw rows = clean rows + quarantined rows for the window."""
    source = declared.source_spec
    clean, quarantine = declared.table_spec, declared.quarantine_spec
    partitioned = source.daily

    spec = dg.AssetCheckSpec(
        asset=f"clean_{source.name}",
        name="raw_equals_clean_plus_quarantined",
        description=f"Every raw {source.name} row is in exactly one of {clean.qualified_name} and "
        f"{quarantine.qualified_name}: nothing is lost or duplicated.",
        blocking=True,
    )

    def _check(inputs: CheckInputs) -> dg.AssetCheckResult:
        context, warehouse, lake = inputs.context, inputs.warehouse, inputs.lake
        window = _window(context, partitioned)
        keys = [raw_lake_key(source, day) for day in window_dates(context)] if partitioned else [raw_lake_key(source)]
        raw = lake.parquet_row_count(keys)
        clean_rows = warehouse.count_rows(clean, window)
        quarantined = warehouse.count_rows(quarantine, window)
        return dg.AssetCheckResult(
            passed=raw == clean_rows + quarantined,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                **_window_metadata(window),
                "raw_rows": raw,
                "clean_rows": clean_rows,
                "quarantined_rows": quarantined,
            },
        )

    return single_check(spec, _check)


def quarantine_share_check(declared: SourceDeclaration) -> CheckGroup:
    """Blocking check on ``clean_<source>``: at most the declared share of each day's rows quarantined.

    Row-level rejects are normal and kept in ``quarantine.<source>``; a day where many rows
    are rejected means the upstream batch is broken (a changed format, a wrong file), so
    downstream must not use it rather than publish it with a hole in it.
    """
    source = declared.source_spec
    clean, quarantine = declared.table_spec, declared.quarantine_spec
    partitioned = source.daily
    limit = declared.quarantine_share_limit

    spec = dg.AssetCheckSpec(
        asset=f"clean_{source.name}",
        name="quarantine_share_within_limit",
        description=f"At most {limit:.0%} of each {'day' if partitioned else 'delivery'}'s "
        f"{source.name} rows are quarantined; above that the batch is broken upstream and blocked.",
        blocking=True,
    )

    def _check(inputs: CheckInputs) -> dg.AssetCheckResult:
        context, warehouse = inputs.context, inputs.warehouse
        window = _window(context, partitioned)
        if partitioned:
            shares = warehouse.read_frame(
                f"with c as (select {clean.window_column} as day, count(*) as n from {clean.qualified_name} "
                f"where {clean.window_column} between %s and %s group by 1), "
                f"q as (select partition_date as day, count(*) as n from {quarantine.qualified_name} "
                "where partition_date between %s and %s group by 1) "
                "select coalesce(c.day, q.day) as day, coalesce(c.n, 0) as clean_rows, coalesce(q.n, 0) as quarantined_rows "
                "from c full join q on c.day = q.day order by 1",
                (*window, *window),
            )
        else:
            shares = warehouse.read_frame(
                f"select null::date as day, (select count(*) from {clean.qualified_name}) as clean_rows, "
                f"(select count(*) from {quarantine.qualified_name}) as quarantined_rows"
            )
        # typed explicitly: a window without rows (an empty day) reads as columns of no type
        shares = shares.with_columns(pl.col("clean_rows", "quarantined_rows").cast(pl.Int64)).with_columns(
            share=pl.col("quarantined_rows") / (pl.col("clean_rows") + pl.col("quarantined_rows")).clip(1)
        )
        over = shares.filter(pl.col("share") > limit).sort("share", descending=True)
        return dg.AssetCheckResult(
            passed=over.height == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                **_window_metadata(window),
                "max_share": _number(shares["share"].max()),
                "limit": limit,
                "quarantined_rows": int(shares["quarantined_rows"].sum()),
                "batches_over_limit": over.height,
                "worst_batches": preview(over, FAILURE_SAMPLE_ROWS),
            },
        )

    return single_check(spec, _check)


def referential_check(declared: SourceDeclaration, name: str, column: str, reference: str, key: str) -> CheckGroup:
    """WARN check on ``clean_<source>``: rows whose ``column`` is not a ``key`` of ``reference``."""
    table = declared.table_spec
    asset = f"clean_{declared.name}"
    spec = dg.AssetCheckSpec(
        asset=asset,
        name=name,
        description=f"Rows of {table.qualified_name} whose {column} is not a {key} of {reference} (reported, "
        "not blocking: real data has such gaps).",
        blocking=False,
        additional_deps=[f"clean_{reference.split('.')[1]}"],
    )

    def _check(inputs: CheckInputs) -> dg.AssetCheckResult:
        context, warehouse = inputs.context, inputs.warehouse
        window = _window(context, declared.daily)
        if warehouse.read_frame("select to_regclass(%s) is not null as present", (reference,))["present"][0] is False:
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"{reference} is not materialized yet; cannot check references",
                metadata=_window_metadata(window),
            )
        in_window = f"f.{table.window_column} between %s and %s and " if window else ""
        missing = warehouse.read_frame(
            f"select f.{column} as value, count(*) as rows from {table.qualified_name} f "
            f"where {in_window}f.{column} is not null "
            f"and not exists (select 1 from {reference} r where r.{key} = f.{column}) "
            "group by 1 order by 2 desc",
            window,
        )
        rows = int(missing["rows"].sum()) if missing.height else 0
        return dg.AssetCheckResult(
            passed=rows == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                **_window_metadata(window),
                "rows_without_match": rows,
                "distinct_values": missing.height,
                "top_values": preview(missing, FAILURE_SAMPLE_ROWS),
            },
        )

    return single_check(spec, _check)


def volume_anomaly_check() -> CheckGroup:
    """WARN check on ``flight_daily_metrics``: unusual daily flight volume per origin.

    Each day of the window is scored against the same weekday of the previous weeks
    (:func:`platform_assets.quality.anomaly.volume_scores`), read from the warehouse, so a
    one-day run compares with what earlier runs wrote.
    """
    table = FLIGHT_DAILY_METRICS

    spec = dg.AssetCheckSpec(
        asset="flight_daily_metrics",
        name="daily_volume_within_weekday_baseline",
        description=f"Scheduled flights per origin and day vs the same weekday of the previous {anomaly.BASELINE_WEEKS} "
        f"weeks: robust z-score (median and MAD) beyond ±{anomaly.ANOMALY_THRESHOLD} is reported. Holidays show up "
        "here by design; a drop on an ordinary day usually means missing upstream rows.",
        blocking=False,
    )

    def _check(inputs: CheckInputs) -> dg.AssetCheckResult:
        context, warehouse = inputs.context, inputs.warehouse
        first, last = _window(context, True)
        daily = warehouse.read_frame(
            f"select flight_date, origin, sum(flights)::bigint as flights from {table.qualified_name} "
            "where flight_date between %s and %s group by 1, 2",
            (first - dt.timedelta(weeks=anomaly.BASELINE_WEEKS), last),
        )
        scores = anomaly.volume_scores(daily, first, last)
        flagged = scores.filter(pl.col("is_anomaly")).sort(pl.col("score").abs(), descending=True)
        unscored = scores["score"].null_count()
        return dg.AssetCheckResult(
            passed=flagged.height == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                **_window_metadata((first, last)),
                "days_scored": scores.height - unscored,
                "days_without_baseline": unscored,
                "threshold": anomaly.ANOMALY_THRESHOLD,
                "anomalies": flagged.height,
                "most_unusual": preview(
                    flagged.select(
                        "flight_date", "origin", "flights", "baseline_median", "baseline_mad", pl.col("score").round(1)
                    ),
                    FAILURE_SAMPLE_ROWS,
                ),
            },
        )

    return single_check(spec, _check)


def landing_contract_check() -> CheckGroup:
    """WARN check on ``raw_flights``: every file in the landing zone follows the contract.

    Files the platform will never ingest (an unknown folder or name, a date that is not a
    calendar date or lies outside the partitions, two spellings of one drop) are listed
    with the reason, so a misdelivered file is noticed instead of silently ignored.
    """

    spec = dg.AssetCheckSpec(
        asset="raw_flights",
        name="landing_files_follow_contract",
        description="Every landing-zone file is a daily drop inside the partitions or a known reference file; "
        "the others are listed with the reason (they are not ingested).",
        blocking=False,
        additional_deps=["raw_weather"],
    )

    def _check(inputs: CheckInputs) -> dg.AssetCheckResult:
        landing = inputs.landing
        keys = landing.list_keys()
        inventory = classify_landing_keys(keys, *partition_bounds(), source_specs())
        violations = pl.DataFrame(inventory.violations, schema=["file", "problem"], orient="row")
        return dg.AssetCheckResult(
            passed=violations.height == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "landing_files": len(keys),
                "daily_drops": len(inventory.drops),
                "files_breaking_contract": violations.height,
                "problems": preview(violations, 50),
            },
        )

    return single_check(spec, _check)


ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def source_checks(declared: SourceDeclaration) -> dg.AssetChecksDefinition:
    """Every check of a declared source's clean asset, in one step ``clean_<source>_checks``.

    * ``clean_<source>`` (ERROR, blocking): the declared ERROR rules that read clean
      columns, plus the table's types and nullability, on what was written;
    * ``clean_<source>_plausibility`` (WARN), when the source declares WARN rules;
    * reconciliation and the quarantine-share limit (ERROR, blocking);
    * one WARN referential check per declared reference.
    """
    asset, table = f"clean_{declared.name}", declared.table_spec
    validations = source_validations(declared)
    groups = [
        pandera_checks(asset, table, validations, partitioned=declared.daily),
        reconciliation_check(declared),
        quarantine_share_check(declared),
        *[
            referential_check(
                declared, ref.name or f"{ref.column}_in_{ref.source}", ref.column, f"clean.{ref.source}", ref.key
            )
            for ref in declared.references
        ],
    ]
    return checks_step(asset, groups)


#: Checks of the hand-written assets (sources get theirs from :func:`source_checks`).
CHECKS_BY_ASSET: dict[str, list[CheckGroup]] = {
    "flight_daily_metrics": [
        pandera_checks(
            "flight_daily_metrics",
            FLIGHT_DAILY_METRICS,
            [model_validation(schemas.FlightDailyMetrics, ERROR)],
            partitioned=True,
        ),
        volume_anomaly_check(),
    ],
    "raw_flights": [landing_contract_check()],
}

QUALITY_CHECKS = [checks_step(asset, groups) for asset, groups in CHECKS_BY_ASSET.items()]
