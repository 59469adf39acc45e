"""Alert sensors: a failed run, a failed blocking check, a missed freshness deadline.

* ``run_failure_alerts`` (Dagster's run-failure sensor): the run, its assets and partition,
  the failed steps' first error lines, and a link to the run in the UI.
* ``check_failure_alerts``: reads new asset-check evaluations from the event log (cursor:
  the last storage id seen) and alerts on failed blocking (ERROR) checks and failed
  freshness checks: a mart or clean table late (``freshness_missed``) or a producer's drop
  late in the landing zone (``drop_late``, naming the source and day), once per late day.
  WARN checks are for dashboards, not for paging people.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg

from platform_assets.alerts.notifier import Alert, AlertResource
from platform_assets.assets.landing import GROUP as LANDING_GROUP

FRESHNESS_CHECK_NAME = "freshness_check"
MAX_EVENTS_PER_TICK = 500


def _partition(tags: Mapping[str, str]) -> str | None:
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        return start if start == end else f"{start}...{end}"
    return tags.get("dagster/partition")


def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertResource) -> Alert:
    """Build the alert for a failed run (first error lines of each failed step)."""
    run = context.dagster_run
    errors = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        text = (
            data.user_failure_data.description
            if data.user_failure_data and data.user_failure_data.description
            else data.error.message
            if data.error
            else event.message or ""
        )
        errors.append(f"{event.step_key}: {text.strip()}")
    failed_steps = [e.step_key for e in context.get_step_failure_events() if e.step_key is not None]
    # The run's selected assets; runs that select everything (ad-hoc materializations) name
    # the failed steps instead, which are the assets (or the dbt step) that broke.
    assets = sorted(k.to_user_string() for k in (run.asset_selection or [])) or failed_steps
    return Alert(
        kind="run_failure",
        title=f"Run of {run.job_name} failed" + (f" in {', '.join(failed_steps)}" if failed_steps else ""),
        run_id=run.run_id,
        run_url=alerts.run_url(run.run_id),
        assets=assets,
        partition=_partition(run.tags),
        error="\n".join(errors) or (context.failure_event.message or ""),
    )


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends an alert (Slack / webhook / email, as configured) for every failed run.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext, alerts: AlertResource) -> None:
    alerts.send(run_failure_alert(context, alerts), context.log)


@dataclass
class AlertCursor:
    """Where ``check_failure_alerts`` is: the newest check evaluation seen (storage id) and the
    freshness checks already alerted as late, as ``"<asset>:<check>@<expected partition>"``.

    The freshness sensor re-evaluates a late check every 15 minutes; it alerts once per
    expected partition, and again only after the check passed in between.
    """

    after: int
    late: set[str] = field(default_factory=set)

    def dumps(self) -> str:
        return json.dumps({"after": self.after, "late": sorted(self.late)})

    @classmethod
    def loads(cls, text: str) -> AlertCursor:
        if text.isdigit():  # the cursor of earlier versions: the storage id alone
            return cls(after=int(text))
        state = json.loads(text)
        return cls(after=int(state["after"]), late=set(state.get("late", [])))


def check_alerts(
    instance: dg.DagsterInstance, cursor: AlertCursor | int, alerts: AlertResource
) -> tuple[list[Alert], AlertCursor]:
    """Alerts for failed blocking and freshness checks evaluated after the cursor's storage id.

    A freshness check still late for the partition it was already alerted for is not alerted
    again. Returns the alerts and the next cursor.
    """
    state = cursor if isinstance(cursor, AlertCursor) else AlertCursor(after=cursor)
    after_storage_id, late = state.after, set(state.late)
    records = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after_storage_id),
        ascending=True,
        limit=MAX_EVENTS_PER_TICK,
    )
    found, cursor = [], after_storage_id
    for record in records:
        cursor = max(cursor, record.storage_id)
        evaluation = record.event_log_entry.asset_check_evaluation
        if evaluation is None:  # the query asks for check evaluations only
            continue
        is_freshness = evaluation.check_name == FRESHNESS_CHECK_NAME
        check_id = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}@"
        if evaluation.passed:
            if is_freshness:  # on time again: the next miss alerts
                late = {k for k in late if not k.startswith(check_id)}
            continue
        is_blocking = evaluation.severity == dg.AssetCheckSeverity.ERROR and evaluation.blocking is not False
        if not (is_freshness or is_blocking):
            continue
        run_id = record.run_id or None
        run = instance.get_run_by_id(run_id) if run_id else None
        asset = evaluation.asset_key.to_user_string()
        metadata = {k: v.value for k, v in evaluation.metadata.items() if not k.startswith("dagster/")}
        details = "\n".join(
            f"{k}: {v}" for k, v in metadata.items() if not isinstance(v, (dict, list)) and len(str(v)) < 200
        )
        partition = evaluation.partition or (_partition(run.tags) if run else None)
        if is_freshness:
            # Dagster's freshness check names the partition it expected in its description.
            expected = re.search(r"partition (\S+?) (?:has|to have)", evaluation.description or "")
            partition = partition or (expected.group(1) if expected else None)
            if check_id + str(partition) in late:
                continue  # still late for the same day: alerted already
            late.add(check_id + str(partition))
        if is_freshness and evaluation.asset_key.path[0] == LANDING_GROUP:
            kind = "drop_late"
            title = (
                f"The producer's {evaluation.asset_key.path[-1]} drop"
                + (f" for {partition}" if partition else "")
                + f" has not landed by its deadline ({asset})"
            )
        elif is_freshness:
            kind, title = "freshness_missed", f"{asset} missed its freshness deadline"
        else:
            kind = "blocking_check_failed"
            title = f"Blocking check {asset}:{evaluation.check_name} failed; downstream assets did not run"
        found.append(
            Alert(
                kind=kind,
                title=title,
                run_id=run_id,
                run_url=alerts.run_url(run_id) if run_id else None,
                assets=[asset],
                partition=partition,
                error="\n".join(filter(None, [evaluation.description or "", details])),
            )
        )
    return found, AlertCursor(after=cursor, late=late)


@dg.sensor(
    name="check_failure_alerts",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts on failed blocking (ERROR) asset checks and missed freshness deadlines.",
)
def check_failure_alerts(context: dg.SensorEvaluationContext, alerts: AlertResource) -> dg.SensorResult:
    if context.cursor is None:
        # Start from now: a new deployment should not page for history.
        latest = context.instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), ascending=False, limit=1
        )
        start = latest[0].storage_id if latest else 0
        started = AlertCursor(after=start).dumps()
        return dg.SensorResult(skip_reason=dg.SkipReason("started watching check evaluations"), cursor=started)
    found, cursor = check_alerts(context.instance, AlertCursor.loads(context.cursor), alerts)
    for alert in found:
        alerts.send(alert, context.log)
    skip = None if found else dg.SkipReason("no failed blocking or freshness checks")
    return dg.SensorResult(skip_reason=skip, cursor=cursor.dumps())
