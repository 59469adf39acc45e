"""Opt-in CPython garbage-collector settings for processes that import the platform.

Off by default: importing the package leaves the interpreter as it is. ``PLATFORM_GC_TUNING=1``
in a process's environment (e.g. only in the run workers' environment, through the run
launcher's ``env_vars``) applies the settings below when the package is imported.

A process that loads the definitions (the CLI, a run worker, a step process, the code
server) imports about 4,000 modules (Dagster, dbt, dagster-dbt, pandera, polars) and holds
about 570,000 container objects that live until it exits. CPython's default thresholds
(700, 10, 10) re-scan them again and again: measured on a one-day run of every asset with
the in-process executor (2-core host, ``gc.callbacks`` timing), 1,440 young, 131 middle and
8 full collections took 2.4–2.7 s, and the interpreter's final collection at exit another
1.5–2.5 s after the run had ended. Two settings, applied once on import:

* a larger first-generation threshold (:data:`THRESHOLDS`): ~50 young and 1–2 middle
  collections and no full one in the same run, 0.8–1.0 s in all. Cycles are still
  collected; garbage in them lives a little longer (a few MB here, not data frames:
  polars and Arrow buffers are not tracked by the collector and are freed by reference
  counting as before);
* :func:`gc.freeze` at exit, so the final collection skips the objects alive then (its
  only job at that point would be to run finalizers of unreachable cycles; files, database
  connections and temporary folders are closed explicitly or by their own ``atexit`` /
  ``weakref.finalize`` hooks, which run before it). The run's process exits ~1.5–2 s
  sooner.

Measured with the setting on, against CPython's defaults.
"""

from __future__ import annotations

import atexit
import gc
import os

#: (young, middle, old) collection thresholds; CPython's default is (700, 10, 10).
THRESHOLDS = (20_000, 20, 20)

_freeze_registered = False


def tune_garbage_collector_if_enabled() -> bool:
    """:func:`tune_garbage_collector` when ``PLATFORM_GC_TUNING=1``; returns whether it did."""
    if os.environ.get("PLATFORM_GC_TUNING") != "1":
        return False
    tune_garbage_collector()
    return True


def tune_garbage_collector() -> None:
    """Apply :data:`THRESHOLDS` and freeze the heap at exit. Idempotent (one exit hook however
    often it is called)."""
    global _freeze_registered
    gc.set_threshold(*THRESHOLDS)
    if not _freeze_registered:
        atexit.register(gc.freeze)
        _freeze_registered = True
