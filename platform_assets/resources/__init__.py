"""Dagster resources: the warehouse (embedded PostgreSQL or a URL) and storage (landing zone, lake).

Import them from their modules (``platform_assets.resources.warehouse``,
``platform_assets.resources.storage``). This package imports nothing itself, so a process
that only needs the embedded server (every process that opens the Dagster instance: CLI,
webserver, daemon) does not import dagster-aws and polars (~0.6 s).
"""
