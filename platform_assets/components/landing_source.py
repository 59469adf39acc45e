"""``LandingSource``: a landing source declared in one YAML file, as a Dagster Component.

``dg scaffold defs platform_assets.components.LandingSource sources/<name>`` writes a
template ``defs.yaml``; its ``attributes`` are a
:class:`~platform_assets.sources.declaration.SourceDeclaration`. From it the component
builds, with the same behaviour as every other source:

* ``landing/<name>``: the producer's drops, an external asset (daily partitions or one
  reference file) that the landing sensor reports arrivals on;
* ``raw_<name>``: landing files -> text parquet in the lake, with lineage (daily partitions
  or one reference file);
* ``clean_<name>``: typed, validated rows in ``clean.<table>``, rejects with reasons in
  ``quarantine.<name>``, written in one transaction per window;
* ``clean_<name>_checks``: the declared rules as pandera checks (ERROR blocking, WARN
  reported), reconciliation, the quarantine-share limit, referential checks.

The landing sensor, the landing-contract check, freshness, the CLI summary and the dbt
sources file pick the source up from the same YAML (:mod:`platform_assets.sources.registry`).
"""

from __future__ import annotations

import dagster as dg

from platform_assets.sources.declaration import SourceDeclaration

TEMPLATE = """\
# A landing source: see docs/sources.md, every key in docs/reference/source-yaml.md. Every key is checked by `dg check defs` (file, line and field of each problem).
type: platform_assets.components.LandingSource
attributes:
  name: {name}
  description: What one row is and where the files come from.
  landing:
    folder: {name}
    partitioning: daily          # daily: {name}/YYYY-MM-DD.csv per partition; reference: one file replaced whole
    missing_drop: fail           # daily: fail the run on a missing day, or `empty`
  table:
    grain: [id]                  # clean columns identifying a row (unique; the first delivered row wins)
    partition_column: event_date # daily: the clean date column that must equal the file's date
  columns:
    - name: id
      type: integer
      required: true
      min: 1
      description: identifier of the row
    - name: event_date
      type: date
      required: true
      description: the day the row belongs to
    - name: value
      type: float
      description: a measurement, with its unit
      plausible: {{min: 0, max: 100}}   # WARN: reported, not blocking
  rules: []                      # e.g. {{name: ..., expect: "a <= b", severity: error}}
"""


class LandingSourceScaffolder(dg.Scaffolder):
    """Writes a commented template ``defs.yaml`` for a new source named after its folder."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        request.target_path.mkdir(parents=True, exist_ok=True)
        (request.target_path / "defs.yaml").write_text(TEMPLATE.format(name=request.target_path.name))


@dg.scaffold_with(LandingSourceScaffolder)
class LandingSource(dg.Component, SourceDeclaration):
    """A landing source declared in YAML: raw and clean assets, quarantine and checks.

    See :class:`~platform_assets.sources.declaration.SourceDeclaration` for the attributes.
    """

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        # Imported here: the asset factories import the registry, which imports this module's base.
        from platform_assets.assets.clean import clean_asset
        from platform_assets.assets.landing import landing_asset
        from platform_assets.assets.raw import raw_asset
        from platform_assets.quality.checks import source_checks

        return dg.Definitions(
            assets=[landing_asset(self), raw_asset(self), clean_asset(self)], asset_checks=[source_checks(self)]
        )
