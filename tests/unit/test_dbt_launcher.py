"""platform-dbt: dagster-dbt's --version probe answered from package metadata, everything else is dbt."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

BIN = Path(sys.executable).parent


def test_version_is_the_installed_dbt_core_in_the_form_dagster_dbt_parses():
    out = subprocess.run([str(BIN / "platform-dbt"), "--version"], capture_output=True, text=True, check=True).stdout
    # dagster-dbt takes the first x.y.z of the output as dbt's version
    assert re.search(r"(\d+\.\d+\.\d+)", out).group(1) == version("dbt-core")
    assert f"postgres: {version('dbt-postgres')}" in out


def test_any_other_command_line_is_the_real_dbt():
    launched = subprocess.run([str(BIN / "platform-dbt"), "--help"], capture_output=True, text=True)
    real = subprocess.run([str(BIN / "dbt"), "--help"], capture_output=True, text=True)
    assert (launched.returncode, launched.stdout) == (real.returncode, real.stdout)
    assert "An ELT tool" in launched.stdout
    # exit status passes through: an unknown command fails as dbt fails
    bad = subprocess.run([str(BIN / "platform-dbt"), "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2 and "No such command" in bad.stderr
