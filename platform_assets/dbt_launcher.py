"""``platform-dbt``: the dbt executable the platform gives dagster-dbt (``DbtCliResource(dbt_executable=...)``).

Before every invocation, dagster-dbt runs ``<dbt_executable> --version`` in a subprocess to tell
dbt Core from the Fusion engine. For dbt Core that means starting an interpreter, importing dbt
and asking PyPI for the latest release: 2–4 s on a 2-core machine, on every run's dbt step.
This launcher answers exactly that command line from the installed packages' metadata, in
dbt Core's format, and hands every other command line to the real ``dbt`` installed beside it
(``os.execv``: same process, arguments, environment and exit status), so dbt itself runs as
it always does. Nothing of dagster-dbt or dbt is patched; pointing ``dbt_executable`` back at
``dbt`` restores the stock behaviour.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: dbt adapters the project may use, reported under "Plugins" like ``dbt --version`` does.
ADAPTERS = ("dbt-postgres",)


def version_text() -> str:
    """What ``dbt --version`` prints for the installed dbt-core and adapters (without the PyPI check).

    Raises:
        importlib.metadata.PackageNotFoundError: dbt-core is not installed.
    """
    lines = ["Core:", f"  - installed: {version('dbt-core')}", "", "Plugins:"]
    for adapter in ADAPTERS:
        try:
            lines.append(f"  - {adapter.removeprefix('dbt-')}: {version(adapter)}")
        except PackageNotFoundError:
            continue
    return "\n".join(lines)


def real_dbt() -> Path:
    """The ``dbt`` console script of this interpreter's environment."""
    return Path(sys.executable).parent / "dbt"


def main(argv: list[str] | None = None) -> int:
    """Print :func:`version_text` for exactly ``--version``; otherwise become the real ``dbt``."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(version_text())
        return 0
    dbt = real_dbt()
    os.execv(dbt, [str(dbt), *args])
    return 127  # not reached: execv replaces the process or raises OSError


if __name__ == "__main__":
    sys.exit(main())
