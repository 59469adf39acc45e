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


#: Celery queue of the steps that need the most memory and CPU (``dagster-celery/queue`` op tag).
HEAVY_QUEUE = "heavy"
#: Op tags sending a step to :data:`HEAVY_QUEUE` under the Celery executor (ignored by the others).
HEAVY_STEP_TAGS = {"dagster-celery/queue": HEAVY_QUEUE}

#: Celery settings shared by the executor (the run's side) and the workers
#: (``deploy/celery/worker.yaml`` holds the same block; a test keeps them equal):
#: a task is acknowledged only when its step has finished (``task_acks_late``), so a worker
#: killed mid-step leaves the task on the broker and another worker runs the step again
#: (``task_reject_on_worker_lost``); each worker takes one task at a time, so a long step never
#: holds a second one hostage behind it. A task whose worker vanished with its host (no
#: process left to reject it) goes back to the queue once it has been unacknowledged for
#: ``visibility_timeout`` seconds (Redis transport); a step running longer than that would be
#: handed out a second time, so it stays well above the longest step (Celery's default, 1 hour).
CELERY_SETTINGS = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
    "broker_transport_options": {"visibility_timeout": 3600},
}

#: The Celery executor's config: broker and result backend from the environment.
CELERY_EXECUTOR_CONFIG = {
    "broker": {"env": "PLATFORM_CELERY_BROKER_URL"},
    "backend": {"env": "PLATFORM_CELERY_BACKEND_URL"},
    "config_source": CELERY_SETTINGS,
}


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

    ``celery``: dagster-celery's executor. Each step is a task on the Celery broker
    (``PLATFORM_CELERY_BROKER_URL``, results at ``PLATFORM_CELERY_BACKEND_URL``, e.g.
    ``redis://host:6379/0`` and ``/1``), executed by whichever worker takes it, on any host
    that reaches the broker, the instance database, the warehouse and the landing zone and
    lake. Steps tagged :data:`HEAVY_STEP_TAGS` go to the ``heavy`` queue, the rest to
    ``dagster``; workers start with ``dagster-celery worker start -A dagster_celery.app -y
    deploy/celery/worker.yaml -q dagster`` (and/or ``-q heavy``).

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
    if kind == "celery":
        # dagster-celery is in the `celery` extra: imported only when this executor is chosen
        from dagster_celery import celery_executor

        return celery_executor.configured(CELERY_EXECUTOR_CONFIG)
    raise ValueError(f"PLATFORM_EXECUTOR={kind!r}: use in_process, multiprocess or celery")
