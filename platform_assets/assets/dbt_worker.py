"""dbt's process started when a run begins, warmed up, and handed its command when the dbt step comes.

dagster-dbt runs a dbt command as a new ``dbt`` process and reads dbt's JSON log lines
from its stdout. Such a process spends seconds before it builds anything: starting Python
and importing dbt (~2.7 s on our 2-core machines), then work dbt does once per process
(generating its manifest classes' deserialisers, building the JSON schemas that validate
the project and the profile, loading the adapter): a one-day ``dbt build`` took 4.4–5.2 s
as a process's first dbt command and 2.6–3.2 s after a ``dbt ls`` in the same process.

:class:`DbtWorker` starts that process when a run begins (``python -m
platform_assets.assets.dbt_worker``). It imports dbt and runs a read-only ``dbt ls``
with its output discarded, on the machine's other core while the run's first steps work
(the run's own process, holding the GIL, is not slowed as a thread would slow it), then
waits on stdin. When the dbt step runs, dagster-dbt's ``subprocess.Popen`` call hands it
the command line, environment and working folder (:meth:`DbtWorker.popen`) instead of
starting a new process. From then on it is exactly the ``dbt`` console script: dbt writes
its JSON log lines to stdout, exits with the dbt CLI's code, and an interruption
(dagster-dbt sends ``SIGINT``) cancels its queries as dbt's own Ctrl-C does.

A worker serves one command. One whose run ends without reaching dbt is terminated (its
warm-up only reads the project).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence


class DbtWorker:
    """The run's side of a dbt process started ahead of its command.

    Args:
        env: the environment the process starts with. Its warm-up renders ``profiles.yml``
            from it, so it must hold the warehouse connection of the real command: dbt's
            partial-parse state is only valid for the same connection, and a mismatch would
            make the warm-up parse the whole project.
        warm_up: dbt arguments of a read-only command run before waiting (e.g. ``["ls", ...]``),
            or ``None`` to only import dbt.
        warm_up_report: where the process writes how the warm-up went, as JSON
            (``{"success": bool, "seconds": float}``), before it waits for its command.
    """

    def __init__(self, env: Mapping[str, str], warm_up: Sequence[str] | None = None, warm_up_report: str | None = None):
        self.warm_up = list(warm_up) if warm_up else None
        self.warm_up_report = warm_up_report
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, json.dumps({"warm_up": self.warm_up, "report": warm_up_report})],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(env),
        )
        self.used = False

    def warm_up_outcome(self) -> dict | None:
        """The warm-up's report (``success``, ``seconds``), or None while there is none (not
        started, still running, skipped because the command came first, or no warm-up)."""
        try:
            with open(self.warm_up_report or "", encoding="utf-8") as report:
                return json.load(report)
        except (OSError, ValueError):
            return None

    def popen(self, args: Sequence[str], stdout=None, stderr=None, env: Mapping[str, str] | None = None, cwd=None):
        """``subprocess.Popen`` as dagster-dbt calls it to start dbt: hands the worker
        ``args[1:]`` (``args[0]`` is the dbt executable), ``env`` and ``cwd``, and returns the
        worker's ``Popen`` (stdout a pipe with stderr merged, as dagster-dbt asks).

        Raises:
            RuntimeError: the worker already has a command.
        """
        if self.used:
            raise RuntimeError("a DbtWorker runs one command")
        self.used = True
        command = {"args": list(args[1:]), "env": dict(os.environ if env is None else env), "cwd": os.fspath(cwd) if cwd else None}
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        self.process.stdin.close()
        self.process.args = list(args)  # what dagster-dbt logs and reports: the command, not the worker
        return self.process

    def close(self) -> None:
        """Terminate a worker that never got a command; wait for one that did (dagster-dbt
        has normally waited for it already)."""
        if not self.used:
            self.process.terminate()
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self.process.wait()
        with contextlib.suppress(OSError, ValueError):
            self.process.stdout.close()


def _command_waiting() -> bool:
    return bool(select.select([sys.stdin], [], [], 0)[0])


def main(argv: Sequence[str]) -> int:
    """The worker: import dbt; run the warm-up unless the command is already waiting; then run
    the command read from stdin (one JSON line: ``args``, ``env``, ``cwd``) as the ``dbt``
    console script would, which exits the process with dbt's code (0 success, 1 a model or
    test failed, 2 dbt raised). Returns 0 when stdin ends without a command.

    ``argv[0]`` is JSON: ``warm_up`` (dbt arguments or null) and ``report`` (a path or null).
    """
    from dbt.cli.main import cli, dbtRunner

    settings = json.loads(argv[0])
    if settings["warm_up"] and not _command_waiting():
        started = time.monotonic()
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), contextlib.redirect_stderr(devnull):
            try:  # it only builds caches; the real command reports any problem
                success = dbtRunner().invoke([*settings["warm_up"], "--log-level", "none", "--log-level-file", "none"]).success
            except Exception:
                success = False
        if settings["report"]:
            with open(settings["report"], "w", encoding="utf-8") as report:
                json.dump({"success": success, "seconds": round(time.monotonic() - started, 3)}, report)
    line = sys.stdin.readline()
    if not line:
        return 0
    command = json.loads(line)
    os.environ.clear()
    os.environ.update(command["env"])
    if command["cwd"]:
        os.chdir(command["cwd"])
    return cli.main(args=command["args"], prog_name="dbt")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
