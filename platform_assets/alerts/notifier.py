"""Where alerts go: Slack (dagster-slack), a generic webhook, and email over SMTP.

Each channel is used only when configured (see docs/operations.md, "Alerts"); with none configured an
alert is only logged. A channel that fails is logged and does not stop the others.
"""

import json
import smtplib
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage

import dagster as dg
from dagster_slack import SlackResource
from pydantic import Field

ERROR_LINES = 5


@dataclass(frozen=True)
class Alert:
    """One alert: what failed, where, the first lines of the error, and a link to the run.

    ``kind`` is ``run_failure``, ``blocking_check_failed`` or ``freshness_missed``.
    """

    kind: str
    title: str
    run_id: str | None
    run_url: str | None
    assets: list[str] = field(default_factory=list)
    partition: str | None = None
    error: str = ""

    def text(self) -> str:
        """Plain-text body: title, assets and partition, the error's first lines, the link."""
        lines = [self.title]
        if self.assets:
            lines.append(f"assets: {', '.join(self.assets)}")
        if self.partition:
            lines.append(f"partition: {self.partition}")
        if self.run_id:
            lines.append(f"run: {self.run_id}")
        if self.error:
            lines += ["", *self.error.strip().splitlines()[:ERROR_LINES]]
        if self.run_url:
            lines += ["", self.run_url]
        return "\n".join(lines)

    def payload(self) -> dict:
        """JSON body for the webhook."""
        return {
            "kind": self.kind,
            "title": self.title,
            "run_id": self.run_id,
            "run_url": self.run_url,
            "assets": self.assets,
            "partition": self.partition,
            "error": "\n".join(self.error.strip().splitlines()[:ERROR_LINES]),
            "text": self.text(),
        }


class AlertResource(dg.ConfigurableResource):
    """Alert channels. Empty settings disable a channel."""

    ui_url: str = Field(default="http://127.0.0.1:3000", description="base URL of the Dagster UI, for run links")
    slack_token: str = Field(default="", description="Slack bot token; Slack is used when set")
    slack_channel: str = Field(default="#data-platform-alerts")
    slack_api_url: str = Field(default="https://slack.com/api/", description="Slack Web API base URL")
    webhook_url: str = Field(default="", description="generic webhook: the alert is POSTed as JSON")
    smtp_host: str = Field(default="", description="SMTP server; email is sent when set with smtp_to")
    smtp_port: int = Field(default=25)
    smtp_from: str = Field(default="dagster@localhost")
    smtp_to: str = Field(default="", description="comma-separated recipients")

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def send(self, alert: Alert, log=None) -> list[str]:
        """Send ``alert`` on every configured channel; returns the channels that accepted it."""
        delivered = []
        for name, enabled, deliver in (
            ("slack", bool(self.slack_token), self._slack),
            ("webhook", bool(self.webhook_url), self._webhook),
            ("email", bool(self.smtp_host and self.smtp_to), self._email),
        ):
            if not enabled:
                continue
            try:
                deliver(alert)
                delivered.append(name)
            except Exception as exc:  # one broken channel must not silence the others
                if log:
                    log.error(f"alert channel {name} failed: {exc!r}")
        if log:
            log.info(f"alert '{alert.title}' sent to {delivered or 'no channel (none configured)'}")
        return delivered

    def _slack(self, alert: Alert) -> None:
        client = SlackResource(token=self.slack_token).get_client()
        client.base_url = self.slack_api_url
        client.chat_postMessage(channel=self.slack_channel, text=alert.text())

    def _webhook(self, alert: Alert) -> None:
        request = urllib.request.Request(
            self.webhook_url,
            data=json.dumps(alert.payload()).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status >= 300:
                raise RuntimeError(f"webhook answered {response.status}")

    def _email(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"[data-platform] {alert.title}"
        message["From"] = self.smtp_from
        message["To"] = self.smtp_to
        message.set_content(alert.text())
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
