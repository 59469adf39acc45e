"""Alerts on failed runs, failed blocking checks and missed freshness deadlines (Slack, webhook, e-mail)."""

import os

import dagster as dg

from platform_assets.alerts.notifier import AlertResource
from platform_assets.alerts.sensors import check_failure_alerts, run_failure_alerts
from platform_assets.defs.resources import env_or_default


@dg.definitions
def alerts() -> dg.Definitions:
    return dg.Definitions(
        sensors=[run_failure_alerts, check_failure_alerts],
        resources={
            "alerts": AlertResource(
                ui_url=env_or_default("PLATFORM_UI_URL", "http://127.0.0.1:3000"),
                slack_token=env_or_default("SLACK_BOT_TOKEN", ""),
                slack_channel=env_or_default("PLATFORM_SLACK_CHANNEL", "#data-platform-alerts"),
                webhook_url=env_or_default("PLATFORM_ALERT_WEBHOOK_URL", ""),
                smtp_host=env_or_default("PLATFORM_SMTP_HOST", ""),
                smtp_port=int(os.getenv("PLATFORM_SMTP_PORT", "25")),
                smtp_from=env_or_default("PLATFORM_SMTP_FROM", "dagster@localhost"),
                smtp_to=env_or_default("PLATFORM_ALERT_EMAIL_TO", ""),
            ),
        },
    )
