"""The executor every job of the platform uses, chosen by ``PLATFORM_EXECUTOR``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import dagster as dg

#: Exceptions Dagster raises in a step when its run worker receives SIGINT or SIGTERM.
_INTERRUPTS = frozenset({"DagsterExecutionInterruptedError", "KeyboardInterrupt"})


def retry_caused_by_interrupt(event: dg.DagsterEvent) -> bool:
    """Whether ``event`` is a ``STEP_UP_FOR_RETRY`` that an interrupt of the run worker caused.

    Dagster turns an interrupt that lands inside a step with a ``RetryPolicy`` into a retry
    request (``op_execution_error_boundary``): the interrupt's class is then in the chain of
    causes of the event's error.
    """
    if event.event_type != dg.DagsterEventType.STEP_UP_FOR_RETRY or event.step_retry_data is None:
        return False
    error = event.step_retry_data.error
    if error is None:
        return False
    while error.cls_name not in _INTERRUPTS:
        cause = error.cause or error.context
        if cause is None:
            return False
        error = cause
    return True


class TerminableInProcessExecutor(dg.Executor):
    """Dagster's in-process executor, except that terminating the run stops it.

    Run termination (the UI's *Terminate*, ``terminate_run``, a run launcher stopping the run's
    container, Ctrl-C) interrupts the run worker with SIGTERM or SIGINT. Inside a step that has
    a ``RetryPolicy`` (all of ours), Dagster turns the interrupt into a retry request, and the
    in-process executor, which never checks for interrupts, runs the step again and then the
    rest of the plan (dagster-io/dagster#15026): the run ignored the termination and ended as
    a success, or was killed by the launcher with its writes cut short. Here the retry is not
    attempted: the run stops at that step, and Dagster reports it ``CANCELED`` (or ``FAILURE``
    when nobody asked for the termination, e.g. a node shutting down), as the multiprocess
    executor does. The step's writes are transactional, so the interrupted step left nothing
    half-written.

    It wraps the executor that Dagster's public ``in_process_executor`` definition creates
    (``inner``) and passes its events through.

    Raises:
        DagsterExecutionInterruptedError: the run worker was interrupted during a step.
    """

    def __init__(self, inner: dg.Executor):
        self.inner = inner

    @property
    def retries(self):
        return self.inner.retries

    @property
    def step_dependency_config(self):
        return self.inner.step_dependency_config

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        events = self.inner.execute(plan_context, execution_plan)
        try:
            for event in events:
                yield event
                if retry_caused_by_interrupt(event):
                    # The reason goes to the worker's log and into the run's end event (its error).
                    reason = (
                        f"Run termination received during step {event.step_key!r}: the step is not "
                        "retried and no further step starts."
                    )
                    dg.get_dagster_logger().warning(reason)
                    raise dg.DagsterExecutionInterruptedError(reason)
        finally:
            close = getattr(events, "close", None)  # a generator: stop the inner executor's steps too
            if close is not None:
                close()


@dg.executor(name="in_process", config_schema=dg.in_process_executor.config_schema.as_field())
def terminable_in_process_executor(init_context: dg.InitExecutorContext) -> TerminableInProcessExecutor:
    """Dagster's ``in_process`` executor (same name and config) that stops when the run is terminated."""
    create = dg.in_process_executor.executor_creation_fn
    if create is None:  # Dagster's own definition always has one
        raise RuntimeError("dagster's in_process_executor has no executor_creation_fn")
    return TerminableInProcessExecutor(create(init_context))


def platform_executor(kind: str | None = None) -> dg.ExecutorDefinition:
    """The executor of every job, chosen by ``PLATFORM_EXECUTOR`` (``in_process`` unless set).

    ``in_process`` (default): every step of a run in the run's own process, one after the
    other (:class:`TerminableInProcessExecutor`). A run's fixed cost is then Dagster's
    bookkeeping, not a process per step; step ``RetryPolicy``, blocking checks, run retries
    and run termination behave the same. What it trades: a step that crashes the interpreter
    (out of memory, a segfault) ends the whole run, which run monitoring and ``run_retries``
    in ``dagster.yaml`` then retry as a new run; in production every run is already isolated
    in its own container by the run launcher.

    ``multiprocess``: each step in its own process forked from a server that has imported
    this module (a fresh interpreter per step would pay ~4 s of imports), two at a time.

    Raises:
        ValueError: any other value.
    """
    kind = kind or os.getenv("PLATFORM_EXECUTOR", "in_process")
    if kind == "in_process":
        return terminable_in_process_executor
    if kind == "multiprocess":
        return dg.multiprocess_executor.configured(
            {
                "max_concurrent": 2,
                "start_method": {"forkserver": {"preload_modules": ["platform_assets.definitions"]}},
            }
        )
    raise ValueError(f"PLATFORM_EXECUTOR={kind!r}: use in_process or multiprocess")
