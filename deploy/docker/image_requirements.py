"""The requirements of a ``uv export`` file that hold on the image's Python, without markers.

Usage (``make image`` runs it)::

    python deploy/docker/image_requirements.py 3.11.2 build/requirements.txt > build/requirements-image.txt

The wheelhouse is built on the host, whose Python may differ from the image's in the patch
version, and pip evaluates environment markers against the Python running it: a requirement
such as ``async-timeout==5.0.1 ; python_full_version < '3.11.3'`` (redis-py's, on Debian
bookworm's Python 3.11.2) would be skipped on a 3.11.7 host and then missing in the image.
Here every marker is evaluated, with ``packaging``, for the image's Python version on Linux;
the requirements that hold are printed without their marker (one ``name==version`` a line),
for ``pip wheel --no-deps``.

Input: a requirements file of pinned lines (``uv export --no-hashes``), comments allowed.
Output (stdout): the pinned lines that apply to the image. Exit 2 on a malformed line.
"""

from __future__ import annotations

import sys

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement


def image_requirements(lines: list[str], python: str) -> list[str]:
    """``lines`` (requirements, comments, blanks) → the requirements whose marker holds on
    CPython ``python`` (e.g. ``3.11.2``) on Linux, as ``str(requirement)`` without the marker.

    Raises:
        InvalidRequirement: a line is not a requirement.
    """
    environment = {
        **default_environment(),
        "python_full_version": python,
        "python_version": ".".join(python.split(".")[:2]),
        "implementation_version": python,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
    }
    kept = []
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            kept.append(str(requirement))
    return kept


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    python, path = argv
    with open(path) as f:
        try:
            print("\n".join(image_requirements(f.read().splitlines(), python)))
        except InvalidRequirement as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
