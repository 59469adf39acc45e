"""Benchmark the platform's main job exactly as users run it: the ``dagster`` CLI.

Usage (from the repo root; ``make benchmark`` runs it with the defaults)::

    .venv/bin/python benchmarks/run_benchmark.py [--repeats 3]
        [--start 2013-01-01 --end 2013-12-31] [--day 2013-06-15]

What it measures
----------------
Three scenarios, each a subprocess run of::

    .venv/bin/dagster asset materialize -m platform_assets.definitions --select '*' \\
        --partition-range START...END       # "ranged": every asset, one run for the window
        --partition DAY                     # "single day": every asset, one partition
    .venv/bin/platform-assets check --start START --end END   # "checks only": every asset check

The checks-only run over the same window gives the cost of the quality gates as a share
of the main job (see :func:`checks_cost`).

with ``DAGSTER_HOME`` set to the repo root (``dagster.yaml``: Postgres run/event storage)
and ``DAGSTER_POSTGRES_URL`` from ``platform-assets instance-url``. Before measuring, the
sample drops for START..END are published once (idempotent) and one single-day run is made
and thrown away, so the embedded PostgreSQL server is up and bytecode is warm. Each
scenario then runs ``--repeats`` times; for every run we record:

* ``wall_s``: wall-clock seconds from process start to exit (``time.perf_counter``).
* ``peak_rss_mib``: the largest value, over time, of the summed resident set size of the
  ``dagster`` process and all its descendants (step subprocesses, dbt), sampled every
  0.2 s with psutil. The embedded postgres server is not a descendant and is excluded.
  Summed RSS counts pages shared between forked processes more than once, so it is an
  upper bound on real memory use; short spikes between two samples can be missed.
* ``startup_s``: process start until the ``RUN_START`` log line appeared (CLI import,
  loading the definitions, creating the run), and ``teardown_s``: the last
  ``STEP_SUCCESS`` line until exit. Both are observed by polling the captured output, so
  they are accurate to about 0.2 s.
* ``steps``: per-step durations as Dagster reports them
  (``STEP_SUCCESS - Finished execution of step "<step>" in <N>s.``).

How to read it
--------------
The tables give the median and min-max over the repeats; use medians to compare
commits and look at the spread before trusting a small difference. Wall time minus the
sum of step times is roughly Dagster overhead (startup, step subprocess launch, event
writes, teardown). Raw numbers, command lines and machine facts are written to
``benchmarks/results/latest.json`` and the tables to ``benchmarks/results/latest.md``.
Compare only results taken on the same machine with the same window.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "benchmarks" / "results"
POLL_S = 0.2
MIB = 1024 * 1024

STEP_RE = re.compile(
    r'STEP_SUCCESS - Finished execution of step "([^"]+)" in ((?:\d+h)?(?:\d+m)?(?:\d+(?:\.\d+)?(?:ms|s))?)\.'
)
UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float:
    """Convert a Dagster duration (``0.83ms``, ``533ms``, ``5.6s``, ``4m52s``, ``1h4m``) to seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"unrecognised Dagster duration {text!r}")
    return sum(float(n) * UNIT_S[u] for n, u in parts)


def _tree_rss(proc: psutil.Process) -> int:
    """Summed RSS in bytes of ``proc`` and its descendants, skipping postgres server processes."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            if member.name().startswith(("postgres", "postmaster")):
                continue
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass  # exited between listing and sampling
    return total


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def measure(cmd: list[str], env: dict[str, str]) -> dict:
    """Run ``cmd`` once and return its wall time, exit code, peak tree RSS and log timings.

    Output (stdout and stderr) goes to a temporary file, which is read incrementally while
    the process runs to time the ``RUN_START`` and last ``STEP_SUCCESS`` lines. Exits the
    benchmark with the tail of the output if the command fails.
    """
    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        log_path = Path(tmp) / "output.log"
        with open(log_path, "wb") as sink, open(log_path, "rb") as reader:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
            ps = psutil.Process(proc.pid)
            peak = 0
            pending = b""
            run_start_at = last_step_at = None

            def scan(now: float) -> None:
                nonlocal pending, run_start_at, last_step_at
                *lines, pending = (pending + reader.read()).split(b"\n")
                for line in lines:
                    if run_start_at is None and b" - RUN_START - " in line:
                        run_start_at = now
                    if b" - STEP_SUCCESS - " in line:
                        last_step_at = now

            while True:
                peak = max(peak, _tree_rss(ps))
                scan(time.perf_counter() - start)
                try:
                    code = proc.wait(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
            wall = time.perf_counter() - start
            scan(wall)
        if code != 0:
            sys.exit(f"FAILED (exit {code}): {shlex.join(cmd)}\n--- last lines of output ---\n{_tail(log_path)}")
        text = log_path.read_text(errors="replace")
    steps = {name: round(parse_duration(d), 3) for name, d in STEP_RE.findall(text)}
    if not steps:
        sys.exit(f"no STEP_SUCCESS lines in the output of {shlex.join(cmd)}\n{text[-4000:]}")
    return {
        "wall_s": round(wall, 3),
        "exit_code": code,
        "peak_rss_mib": round(peak / MIB, 1),
        "startup_s": None if run_start_at is None else round(run_start_at, 1),
        "teardown_s": None if last_step_at is None else round(wall - last_step_at, 1),
        "steps": steps,
    }


def _spread(values: list[float]) -> dict:
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def summarise(runs: list[dict]) -> dict:
    """Median, min and max of wall time, peak RSS, startup, teardown and each step over ``runs``."""
    summary = {key: _spread([r[key] for r in runs if r[key] is not None])
               for key in ("wall_s", "peak_rss_mib", "startup_s", "teardown_s")}
    names = dict.fromkeys(name for r in runs for name in r["steps"])  # execution order, deduplicated
    summary["steps"] = {n: _spread([r["steps"][n] for r in runs if n in r["steps"]]) for n in names}
    return summary


def check_step_names() -> set[str]:
    """Step keys of the asset checks that run as their own steps (``<asset>_<check>``)."""
    sys.path.insert(0, str(ROOT))
    from platform_assets.definitions import defs

    return {f"{key.asset_key.path[-1]}_{key.name}" for key in defs.resolve_asset_graph().asset_check_keys}


def checks_cost(scenarios: dict, ranged: str, checks_only: str) -> dict:
    """What the asset checks cost relative to the main job over the same window.

    * ``checks_only_share``: median wall time of the checks-only run (every Python and dbt
      check, nothing materialized) / median wall time of the ranged main run.
    * ``check_steps_share``: median over the ranged runs of (summed durations of the Python
      check steps / wall time). Check steps can overlap other steps (2 at a time), so this
      over-states their cost on the critical path; dbt tests run inside the dbt steps and are
      not in it.
    """
    names = check_step_names()
    main_wall = scenarios[ranged]["summary"]["wall_s"]["median"]
    per_run = [sum(t for n, t in r["steps"].items() if n in names) / r["wall_s"] for r in scenarios[ranged]["runs"]]
    return {
        "checks_only_wall_s": scenarios[checks_only]["summary"]["wall_s"]["median"],
        "main_wall_s": main_wall,
        "checks_only_share": round(scenarios[checks_only]["summary"]["wall_s"]["median"] / main_wall, 3),
        "check_steps_share": round(statistics.median(per_run), 3),
    }


def markdown(scenarios: dict, ranged: str, meta: dict) -> str:
    """Render the scenario table and the ranged run's per-step table as Markdown."""
    out = [
        f"# Benchmark {meta['date']}",
        "",
        f"{meta['repeats']} run(s) per scenario; {meta['machine']['cpu_count']} CPUs, "
        f"{meta['machine']['memory_gib']} GiB RAM, Python {meta['machine']['python']}, "
        f"Dagster {meta['machine']['dagster']}.",
        "",
        "| scenario | wall median (s) | wall min-max (s) | peak RSS median (MiB) | peak RSS min-max (MiB) "
        "| startup median (s) | teardown median (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, sc in scenarios.items():
        s = sc["summary"]
        w, m = s["wall_s"], s["peak_rss_mib"]
        out.append(
            f"| {name} | {w['median']:.1f} | {w['min']:.1f}-{w['max']:.1f} | {m['median']:.0f} "
            f"| {m['min']:.0f}-{m['max']:.0f} | {_fmt(s['startup_s']['median'], '.1f')} | {_fmt(s['teardown_s']['median'], '.1f')} |"
        )
    cost = meta["checks_cost"]
    out += ["", f"Cost of the asset checks over {ranged.removeprefix('ranged ')}: checks-only run "
            f"{cost['checks_only_wall_s']:.1f} s = {cost['checks_only_share']:.0%} of the main run's "
            f"{cost['main_wall_s']:.1f} s; Python check steps inside the main run sum to "
            f"{cost['check_steps_share']:.0%} of its wall time (medians)."]
    out += ["", f"Per-step durations, {ranged} (as reported by Dagster):", "",
            "| step | median (s) | min-max (s) |", "|---|---:|---:|"]
    steps = scenarios[ranged]["summary"]["steps"]
    for step, s in sorted(steps.items(), key=lambda kv: -kv[1]["median"]):
        out.append(f"| {step} | {s['median']:.2f} | {s['min']:.2f}-{s['max']:.2f} |")
    out += ["", "Commands:", ""] + [f"- {name}: `{sc['command']}`" for name, sc in scenarios.items()]
    return "\n".join(out) + "\n"


def _cli(*args: str) -> str:
    result = subprocess.run([str(BIN / "platform-assets"), *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: platform-assets {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, prepare the instance, measure both scenarios and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="measured runs per scenario (default 3)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2013, 1, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2013, 12, 31))
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2013, 6, 15))
    args = parser.parse_args(argv)

    env = dict(os.environ, DAGSTER_HOME=str(ROOT), DAGSTER_POSTGRES_URL=_cli("instance-url"))
    print(_cli("publish-sample", "--start", str(args.start), "--end", str(args.end)), file=sys.stderr)

    base = [str(BIN / "dagster"), "asset", "materialize", "-m", "platform_assets.definitions", "--select", "*"]
    ranged = f"ranged {args.start}...{args.end}"
    commands = {
        ranged: base + ["--partition-range", f"{args.start}...{args.end}"],
        f"single day {args.day}": base + ["--partition", str(args.day)],
    }
    checks_only = f"checks only {args.start}...{args.end}"
    commands[checks_only] = [str(BIN / "platform-assets"), "check", "--start", str(args.start), "--end", str(args.end)]
    single = commands[f"single day {args.day}"]
    print("warm-up: one single-day run (not counted)", file=sys.stderr)
    measure(single, env)

    scenarios = {}
    for name, cmd in commands.items():
        runs = []
        for i in range(args.repeats):
            runs.append(measure(cmd, env))
            print(f"{name} run {i + 1}/{args.repeats}: {runs[-1]['wall_s']:.1f}s, "
                  f"peak {runs[-1]['peak_rss_mib']:.0f} MiB", file=sys.stderr)
        shown = shlex.join([os.path.relpath(cmd[0], ROOT), *cmd[1:]])
        scenarios[name] = {"command": shown, "runs": runs, "summary": summarise(runs)}

    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "repeats": args.repeats,
        "machine": {
            "cpu_count": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "dagster": version("dagster"),
        },
        "env": {"DAGSTER_HOME": str(ROOT), "DAGSTER_POSTGRES_URL": env["DAGSTER_POSTGRES_URL"]},
    }
    meta["checks_cost"] = checks_cost(scenarios, ranged, checks_only)
    table = markdown(scenarios, ranged, meta)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({**meta, "scenarios": scenarios}, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(table)
    print(f"wrote {RESULTS / 'latest.json'} and {RESULTS / 'latest.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
