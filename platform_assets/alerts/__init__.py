"""Alerts: failed runs, failed blocking checks and missed freshness, sent to people."""
