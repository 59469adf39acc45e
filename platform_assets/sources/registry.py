"""The declared landing sources: every ``LandingSource`` component under ``platform_assets/defs``.

The component builds each source's assets and checks; the platform-wide parts (the landing
sensor, the landing-contract check, freshness, the CLI summary, the dbt sources file) read
the same declarations from here, as Dagster loads them (``dg.ComponentTree``: templating
such as ``{{ env('NAME') }}`` resolved), so a new YAML file reaches all of them.
:func:`read_declarations` validates loose ``defs.yaml`` files outside a project (tests,
tools) with the file, line and field of every problem.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

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
        SourceDeclarationError: two components declare the same source name.
    """
    import dagster as dg

    from platform_assets.components.landing_source import LandingSource

    found: dict[str, SourceDeclaration] = {}
    for component in dg.ComponentTree.for_project(DEFS_DIR).get_all_components(of_type=LandingSource):
        if component.name in found:
            raise SourceDeclarationError(f"source '{component.name}' is declared twice under {DEFS_DIR}")
        found[component.name] = component
    return dict(sorted(found.items()))


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


def _explain(path: Path, text: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        field = ".".join(str(p) for p in ("attributes", *loc))
        line = _line_of(text, loc)
        problems.append(f"{path}:{line or 1}: {field}: {item['msg']}")
    return "invalid source declaration\n" + "\n".join(problems)


def read_declarations(root: Path) -> dict[str, SourceDeclaration]:
    """Every declared source by name, from ``defs.yaml`` files under ``root`` whose ``type`` is a LandingSource.

    Raises:
        SourceDeclarationError: a file is not valid YAML, breaks the schema (the message
            names the file, line and field of each problem), or two files declare the same
            source name. Nothing is returned then: no half definitions.
    """
    found: dict[str, SourceDeclaration] = {}
    where: dict[str, Path] = {}
    for path in sorted(root.rglob("defs.yaml")):
        text = path.read_text()
        try:
            documents = [d for d in yaml.safe_load_all(text) if d]
        except yaml.YAMLError as exc:
            raise SourceDeclarationError(f"{path}: not valid YAML: {exc}") from exc
        for document in documents:
            if not str(document.get("type", "")).endswith(COMPONENT_TYPE):
                continue
            try:
                declaration = SourceDeclaration.model_validate(document.get("attributes") or {})
            except ValidationError as exc:
                raise SourceDeclarationError(_explain(path, text, exc)) from exc
            if declaration.name in found:
                raise SourceDeclarationError(
                    f"{path}: source '{declaration.name}' is also declared in {where[declaration.name]}"
                )
            found[declaration.name], where[declaration.name] = declaration, path
    return found


def declaration(name: str) -> SourceDeclaration:
    """The declared source ``name``.

    Raises:
        KeyError: no YAML declares it.
    """
    return declarations()[name]


def source_specs() -> dict[str, SourceSpec]:
    """Landing contracts of every declared source, by name."""
    return {name: d.source_spec() for name, d in declarations().items()}


def clean_table(name: str) -> TableSpec:
    return declaration(name).table_spec()
