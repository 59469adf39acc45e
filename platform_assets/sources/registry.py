"""The declared landing sources: every ``LandingSource`` component under ``platform_assets/defs``.

The component builds each source's assets and checks; the platform-wide parts (the landing
sensor, the landing-contract check, freshness, the CLI summary, the dbt sources file) read
the same declarations from here, as Dagster loads them (``dg.ComponentTree``: templating
such as ``{{ env('NAME') }}`` resolved), so a new YAML file reaches all of them.
A declaration Dagster cannot load is reported with the file, line and field of every problem
(:func:`explained_declaration_errors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import dagster as dg
import yaml
from pydantic import ValidationError

from platform_assets.sources.contract import SourceSpec
from platform_assets.sources.declaration import SourceDeclaration
from platform_assets.tables import TableSpec

DEFS_DIR = Path(__file__).resolve().parents[1] / "defs"
COMPONENT_TYPE = "LandingSource"


class SourceDeclarationError(ValueError):
    """A source YAML file cannot be read or breaks the declaration schema; names the file."""


@cache
def declarations() -> dict[str, SourceDeclaration]:
    """Every declared source by name: the ``LandingSource`` components Dagster loads from
    :data:`DEFS_DIR` (the project's component tree, templates resolved).

    Raises:
        SourceDeclarationError: a declaration is invalid (file, line and field named) or two
            components declare the same source name.
    """
    return declarations_in(dg.ComponentTree.for_project(DEFS_DIR))


def declarations_in(tree: dg.ComponentTree) -> dict[str, SourceDeclaration]:
    """The ``LandingSource`` components of a component tree, by source name.

    Raises:
        SourceDeclarationError: as :func:`declarations`.
    """
    from platform_assets.components.landing_source import LandingSource

    with explained_declaration_errors(tree.defs_module_path):
        components = tree.get_all_components(of_type=LandingSource)
    found: dict[str, SourceDeclaration] = {}
    for component in components:
        if component.name in found:
            raise SourceDeclarationError(
                declaration_problems(tree.defs_module_path)
                or f"source '{component.name}' is declared twice under {tree.defs_module_path}"
            )
        found[component.name] = component
    return dict(sorted(found.items()))


@contextmanager
def explained_declaration_errors(defs_dir: Path) -> Iterator[None]:
    """Turn a failure to load the defs folder into a :class:`SourceDeclarationError` naming
    the file, line and field of every invalid source declaration under ``defs_dir``.

    Dagster reports which component failed; the declaration's nested models lose the YAML
    position on the way, so the files are re-validated here to point at the line. Errors that
    no declaration explains propagate unchanged.
    """
    try:
        yield
    except SourceDeclarationError:
        raise
    except Exception as exc:
        problems = declaration_problems(defs_dir)
        if problems:
            raise SourceDeclarationError(problems) from exc
        raise


def _line_of(text: str, loc: tuple) -> int | None:
    """1-based line of the YAML node at ``attributes.<loc>`` (the nearest existing parent)."""
    node = yaml.compose(text)
    line = None
    for part in ("attributes", *loc):
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
            key = next((k for k, v in node.value if k.value == part), None)
            if child is None:
                break
            line, node = (key or child).start_mark.line + 1, child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _explain(path: Path, text: str, error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        if isinstance(item.get("input"), str) and "{{" in item["input"]:
            continue
        loc = tuple(item["loc"])
        field = ".".join(str(p) for p in ("attributes", *loc))
        line = _line_of(text, loc)
        problems.append(f"{path}:{line or 1}: {field}: {item['msg']}")
    return problems


def declaration_problems(root: Path) -> str | None:
    """What is wrong with the LandingSource ``defs.yaml`` files under ``root``, one line per
    problem as ``<file>:<line>: <field>: <message>``; None when every file is a valid
    declaration. Values written as templates (``{{ ... }}``) are not judged here: Dagster
    resolves them first.
    """
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for path in sorted(root.rglob("defs.yaml")):
        text = path.read_text()
        try:
            documents = [d for d in yaml.safe_load_all(text) if d]
        except yaml.YAMLError as exc:
            problems.append(f"{path}: not valid YAML: {exc}")
            continue
        for document in documents:
            if not str(document.get("type", "")).endswith(COMPONENT_TYPE):
                continue
            try:
                declared = SourceDeclaration.model_validate(document.get("attributes") or {})
            except ValidationError as exc:
                problems.extend(_explain(path, text, exc))
                continue
            if declared.name in seen:
                problems.append(f"{path}: source '{declared.name}' is also declared in {seen[declared.name]}")
            seen[declared.name] = path
    return "invalid source declaration\n" + "\n".join(problems) if problems else None


def declaration(name: str) -> SourceDeclaration:
    """The declared source ``name``.

    Raises:
        KeyError: no YAML declares it.
    """
    return declarations()[name]


def source_specs() -> dict[str, SourceSpec]:
    """Landing contracts of every declared source, by name."""
    return {name: d.source_spec for name, d in declarations().items()}


def clean_table(name: str) -> TableSpec:
    return declaration(name).table_spec
