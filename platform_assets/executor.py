"""The executor every job of the platform uses, chosen by ``PLATFORM_EXECUTOR``."""

from __future__ import annotations

import os

import dagster as dg


def platform_executor(kind: str | None = None) -> dg.ExecutorDefinition:
    """The executor of every job, chosen by ``PLATFORM_EXECUTOR`` (``in_process`` unless set).

    ``in_process`` (default): every step of a run in the run's own process, one after the
    other. A run's fixed cost is then Dagster's bookkeeping, not a process per step; step
    ``RetryPolicy``, blocking checks and run retries behave the same. What it trades: a
    step that crashes the interpreter (out of memory, a segfault) ends the whole run, which
    run monitoring and ``run_retries`` in ``dagster.yaml`` then retry as a new run; in
    production every run is already isolated in its own container by the run launcher.

    ``multiprocess``: each step in its own process forked from a server that has imported
    this module (a fresh interpreter per step would pay ~4 s of imports), two at a time.

    Raises:
        ValueError: any other value.
    """
    kind = kind or os.getenv("PLATFORM_EXECUTOR", "in_process")
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "multiprocess":
        return dg.multiprocess_executor.configured(
            {
                "max_concurrent": 2,
                "start_method": {"forkserver": {"preload_modules": ["platform_assets.definitions"]}},
            }
        )
    raise ValueError(f"PLATFORM_EXECUTOR={kind!r}: use in_process or multiprocess")
