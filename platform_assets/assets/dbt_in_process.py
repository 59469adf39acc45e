"""dbt started in the run's own process, for dagster-dbt's ``DbtCliResource.cli()``.

dagster-dbt runs every dbt command as a new ``dbt`` interpreter (``subprocess.Popen``) and
reads dbt's JSON log lines from its stdout. That interpreter spends about 2 s of a one-day
``dbt build`` starting Python and importing dbt, which the run's process has already
imported (dagster-dbt imports dbt-core). :class:`InProcessDbt` starts the same command with
dbt's programmatic entry point (``dbtRunner``) on a thread instead, and offers the part of
``Popen``'s interface dagster-dbt uses (``args``, ``stdout``, ``wait``, ``returncode``,
``send_signal``): every other step, namely argument and selection building, the
environment, the target folder, parsing dbt's events into Dagster materializations and
asset check results, error reporting, stays dagster-dbt's own.

What a run gives up against a separate dbt process, and why it is acceptable:

* **Interruption.** A terminated run cancels dbt's open queries (each model and test is
  its own transaction, so nothing is half-written) and the run worker exits; a model
  that commits in the moments before that stays committed, as with dbt's own Ctrl-C.
* **Isolation.** dbt's global state (flags, adapter registry, event manager) lives in the
  run worker. Invocations are sequential there: one step runs at a time with the
  in-process executor, and each step has its own process with the multiprocess one.

``PlatformDbtResource(in_process=False)`` (``PLATFORM_DBT_IN_PROCESS=0``) goes back to
dagster-dbt's subprocess.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
import types
from collections.abc import Iterator, Mapping, Sequence

_END = object()


class _EventLines:
    """dbt's JSON log lines as they are fired, read like a process's stdout pipe (bytes lines)."""

    def __init__(self) -> None:
        self._lines: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = False

    def put(self, line: bytes | object) -> None:
        if not self.closed:
            self._lines.put(line)

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            line = self._lines.get()
            if line is _END:
                return
            yield line

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> _EventLines:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcessDbt:
    """One dbt command run by ``dbtRunner`` on a thread of this process, shaped like ``subprocess.Popen``.

    Args:
        args: the command line dagster-dbt built, ``[<dbt executable>, <dbt args>...]``; the
            executable is not started, the rest goes to ``dbtRunner().invoke``.
        env: the environment dagster-dbt built for dbt (``os.environ`` plus ``DBT_*`` settings:
            target and log path, JSON log format, project and profiles dir). It is applied to
            ``os.environ`` while dbt runs, since dbt reads its settings and ``env_var()``
            there, and the previous values are restored before dbt's end is reported.
        stdout, stderr, cwd: accepted for ``Popen`` compatibility; dbt's events arrive on
            :attr:`stdout`, and dbt finds its project through ``DBT_PROJECT_DIR`` in ``env``.

    ``returncode`` follows the dbt CLI: 0 success, 1 a model or test failed, 2 dbt raised.
    """

    def __init__(self, args: Sequence[str], stdout=None, stderr=None, env: Mapping[str, str] | None = None, cwd=None):
        self.args = list(args)
        self.returncode: int | None = None
        self.stdout = _EventLines()
        changed = {k: v for k, v in (env or {}).items() if os.environ.get(k) != v}
        removed = [k for k in os.environ if env is not None and k not in env]
        # applied here, in the caller's thread, before dbt's threads start (putenv is not
        # safe against concurrent getenv, and libpq reads the environment when connecting)
        self._restore = {k: os.environ.get(k) for k in [*changed, *removed]}
        os.environ.update(changed)
        for key in removed:
            del os.environ[key]
        self._thread = threading.Thread(target=self._run, name="dbt", daemon=True)
        self._thread.start()

    def _forward(self, msg) -> None:
        """dbtRunner callback: each event dbt's console log would print (``info`` and up), as a JSON line."""
        if msg.info.level == "debug":
            return
        from dbt_common.events.functions import env_scrubber, msg_to_json

        self.stdout.put(env_scrubber(msg_to_json(msg)).encode())

    def _run(self) -> None:
        code = 2
        try:
            from dbt.cli.main import dbtRunner

            # dbt's console log off: its events reach dagster-dbt through the callback, which
            # prints them to the step's stdout as it does for a subprocess
            result = dbtRunner(callbacks=[self._forward]).invoke([*self.args[1:], "--log-level", "none"])
            # an exception dbt caught is already among its events ("Encountered an error")
            code = 0 if result.success else (1 if result.exception is None else 2)
        except BaseException as exc:  # reported like a crashed dbt process
            self.stdout.put(f"dbt raised: {exc!r}".encode())
        finally:
            for key, value in self._restore.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self.returncode = code
            self.stdout.put(_END)

    def poll(self) -> int | None:
        return None if self._thread.is_alive() else self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for dbt to finish; raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def send_signal(self, sig) -> None:
        """Any signal (dagster-dbt sends SIGINT on interruption) cancels dbt's open queries.

        As dbt does on Ctrl-C: from a connection of the calling thread, the adapter ends every
        other connection's query (PostgreSQL: ``pg_terminate_backend``), so each running model
        or test fails and its transaction rolls back; dbt then reports the failures and ends.
        """
        from dbt.adapters.factory import FACTORY

        with FACTORY.lock:
            adapters = list(FACTORY.adapters.values())
        for adapter in adapters:
            if adapter.is_cancelable():
                with adapter.connection_named("cancel"):
                    adapter.cancel_open_connections()

    def terminate(self) -> None:
        self.send_signal(None)

    kill = terminate


@contextlib.contextmanager
def dbt_started_in_process() -> Iterator[None]:
    """Within the block, dagster-dbt starts dbt commands as :class:`InProcessDbt` instead of a subprocess.

    dagster-dbt starts dbt in ``DbtCliInvocation.run`` with its module's ``subprocess.Popen``;
    only that module's name is replaced, and only while ``DbtCliResource.cli()`` builds the
    invocation (the command runs after the block).

    Raises:
        RuntimeError: the installed dagster-dbt no longer starts dbt that way (the lock file
            pins it; this fails loudly rather than silently running something else).
    """
    from dagster_dbt.core import dbt_cli_invocation

    if getattr(dbt_cli_invocation, "subprocess", None) is not subprocess:
        raise RuntimeError("dagster_dbt.core.dbt_cli_invocation no longer starts dbt with subprocess.Popen")
    dbt_cli_invocation.subprocess = types.SimpleNamespace(
        Popen=InProcessDbt, PIPE=subprocess.PIPE, STDOUT=subprocess.STDOUT, TimeoutExpired=subprocess.TimeoutExpired
    )
    try:
        yield
    finally:
        dbt_cli_invocation.subprocess = subprocess
