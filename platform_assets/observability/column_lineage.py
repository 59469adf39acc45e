"""``platform-assets lineage <asset>.<column>``: where a column comes from, down to the landing file.

Walks the ``dagster/column_lineage`` metadata of each asset's latest materialization:
dbt models carry theirs from dagster-dbt (sqlglot over the compiled SQL), the Python
layers declare theirs (``clean_<source>`` from its source declaration,
``flight_daily_metrics`` by hand). A ``raw_<source>`` column is the landing file's column
of the same name. (Dagster's OSS UI shows the same metadata on each materialization; its
column-lineage graph view is a Dagster+ feature.)
"""

from __future__ import annotations

import dagster as dg

from platform_assets.sources.registry import declarations


def _latest_lineage(instance: dg.DagsterInstance, asset: str) -> dg.TableColumnLineage | None:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    if not records or records[0].asset_materialization is None:
        return None
    entry = records[0].asset_materialization.metadata.get("dagster/column_lineage")
    value = entry.value if entry is not None else None
    return value if isinstance(value, dg.TableColumnLineage) else None


def trace_column(instance: dg.DagsterInstance, asset: str, column: str) -> list[str]:
    """The lineage tree of ``asset.column`` as text lines, upstream first-level children indented.

    Ends at the landing file for raw columns; an asset never materialized (or without
    lineage) is shown as such.
    """
    landing = {f"raw_{name}": d for name, d in declarations().items()}
    lines: list[str] = []

    def walk(asset: str, column: str, depth: int, seen: frozenset) -> None:
        pad = "   " * depth + ("└─ " if depth else "")
        lines.append(f"{pad}{asset}.{column}")
        if asset in landing:
            spec = landing[asset].source_spec
            where = f"{spec.folder}/YYYY-MM-DD.csv" if spec.daily else spec.reference_key()
            lines.append("   " * (depth + 1) + f"└─ landing {where}: column {column}")
            return
        if (asset, column) in seen:
            return
        lineage = _latest_lineage(instance, asset)
        deps = lineage.deps_by_column.get(column, []) if lineage else []
        if not deps:
            lines.append(
                "   " * (depth + 1)
                + (
                    "└─ (no column lineage recorded; dbt models record it when runs set PLATFORM_DBT_COLUMN_METADATA=1)"
                    if lineage is None
                    else "└─ (no upstream column)"
                )
            )
        for dep in deps:
            walk(dep.asset_key.to_user_string(), dep.column_name, depth + 1, seen | {(asset, column)})

    walk(asset, column, 0, frozenset())
    return lines
