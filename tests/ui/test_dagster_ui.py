"""The Dagster UI in a real browser (Debian's Chromium through Playwright) on a materialized month.

`dagster dev -w workspace.yaml` serves January 2013, materialized beforehand in one ranged
run (see conftest.py). Each test opens the page a user would and checks what it shows
against the definitions and the landing files; each writes a screenshot to
``docs/screenshots/`` for the README.

    make ui-test            # or: .venv/bin/pytest -m ui tests/ui

Needs the ``chromium`` Debian package (``/usr/bin/chromium``; ``UI_CHROMIUM`` for another).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.ui

#: The day whose row count is checked (inside the materialized month).
DAY = "2013-01-15"
#: Where column lineage is read: run-level metadata (column lineage, preview, costs) sits on
#: the newest partition of each run's window, the month's last day (also the backfill's).
LINEAGE_DAY = "2013-01-31"
#: The range backfilled from the UI (apart from DAY; its last day has no landed drop), and
#: the runs it becomes with at most two days per run (the UI's
#: PLATFORM_BACKFILL_PARTITIONS_PER_RUN), with the status each ends in.
BACKFILL = ("2013-01-28", "2013-02-01")
BACKFILL_CHUNKS = {
    ("2013-01-28", "2013-01-29"): "SUCCESS",
    ("2013-01-30", "2013-01-31"): "SUCCESS",
    ("2013-02-01", "2013-02-01"): "FAILURE",  # no flights drop for the day: only its chunk fails
}
#: Dagster's code location name for the project (workspace.yaml).
LOCATION = "platform_assets"
BACKFILL_TIMEOUT_S = 300
CHECK_STATUS = re.compile(r"Succeeded|Failed|Not evaluated|Execution failed|Skipped|In progress")


@pytest.fixture(scope="module")
def graph():
    """The platform's asset graph, from the same definitions `dagster dev` loads."""
    from platform_assets.definitions import defs

    return defs.resolve_asset_graph()


def test_lineage_page_shows_the_six_groups(page: Page, graph, screenshot):
    import dagster as dg

    groups = sorted({graph.get(key).group_name for key in graph.get_all_asset_keys()})
    assert len(groups) == 6, groups  # landing, raw, clean, aggregate, staging, marts

    page.goto("/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    # The sidebar lists one entry per group, exactly the definitions' groups.
    sidebar = page.get_by_role("button", name=re.compile(r"^asset_group "))
    for group in groups:
        expect(page.get_by_role("button", name=f"asset_group {group} {group}", exact=True)).to_be_visible()
    expect(sidebar).to_have_count(len(groups))
    # And the graph draws each group as a node (collapsed by default).
    for group in groups:
        expect(page.locator("svg").get_by_text(group, exact=True)).to_be_visible()
    screenshot(page, "lineage")

    # One asset's upstream lineage: the chain from the landing zone to a mart.
    page.set_viewport_size({"width": 1440, "height": 1100})
    page.goto("/assets/fct_flights?view=lineage&lineageScope=upstream&lineageDepth=5")
    for asset in ("raw_flights", "clean_flights", "stg_flights", "fct_flights"):
        expect(page.get_by_text(asset, exact=True).first).to_be_visible()
    # it starts at the producers' drops: the landing assets upstream of fct_flights, which have
    # no upstream themselves (the graph labels them by name inside the `landing` group)
    upstream = graph.get(dg.AssetKey("fct_flights")).parent_keys
    for _ in range(5):
        upstream = upstream | {p for k in upstream for p in graph.get(k).parent_keys}
    roots = sorted(k.path[-1] for k in upstream if k.path[0] == "landing")
    assert roots == ["airlines", "airports", "flights"]
    assert all(not graph.get(dg.AssetKey(["landing", r])).parent_keys for r in roots)
    svg = page.locator("svg")
    for name in ["landing", *roots]:
        expect(svg.get_by_text(name, exact=True).first).to_be_visible()
    page.get_by_role("button", name="zoom_out").click()  # the whole chain in the picture
    screenshot(page, "asset_lineage")


def test_a_landing_asset_shows_which_drop_arrived_when(page: Page, platform, screenshot):
    """landing/flights: an external asset whose partitions are the drops reported so far."""
    page.goto("/assets/landing/flights?view=partitions&partition=2013-01-31")
    expect(page.get_by_text("External Asset", exact=True)).to_be_visible()
    # January's 31 drops are recorded, the other 334 days of 2013 have not landed
    expect(page.get_by_text("Materialized (31)", exact=True)).to_be_visible()
    expect(page.get_by_text("Missing (334)", exact=True)).to_be_visible()
    # the selected day's arrival: which file, its size (bytes)
    newest = platform.landing / "flights" / "2013-01-31.csv"
    metadata = page.get_by_role("table").filter(has=page.get_by_role("cell", name="file_version"))
    expect(metadata.get_by_role("cell", name="flights/2013-01-31.csv", exact=True)).to_be_visible()
    expect(metadata.get_by_role("row", name=f"size_bytes {newest.stat().st_size}", exact=True)).to_be_visible()
    screenshot(page, "landing_asset")


def test_asset_page_shows_the_columns_and_the_latest_row_count(page: Page, graph, platform, screenshot):
    import dagster as dg

    node = graph.get(dg.AssetKey("clean_flights"))
    columns = [c.name for c in node.metadata["dagster/column_schema"].columns]
    assert "dep_delay_min" in columns

    page.goto("/assets/clean_flights")
    expect(page.get_by_role("button", name=re.compile(r"\bColumns\b"))).to_be_visible()
    table = page.get_by_role("table").filter(has=page.get_by_role("cell", name="Column name", exact=True))
    for column in columns:
        expect(table.get_by_role("cell", name=column, exact=True)).to_be_visible()
    # The status block: the latest materialized partition and its row count.
    latest = page.get_by_role("link", name=re.compile(r"^2013-\d\d-\d\d$")).first
    expect(latest).to_be_visible()
    expect(page.get_by_text("Row count", exact=True).locator("..")).to_contain_text(
        _number(_landed_flights(platform, latest.inner_text()))
    )
    screenshot(page, "asset")


def _landed_flights(platform, day: str) -> int:
    """Flights in the day's landing file: its lines minus the header."""
    return len((platform.landing / "flights" / f"{day}.csv").read_text().splitlines()) - 1


def _number(n: int) -> re.Pattern:
    """``n`` as the UI may print it: 1004 or 1,004."""
    return re.compile(rf"(?<![\d,]){n}(?![\d,])|(?<![\d,]){n:,}(?![\d,])")


def test_a_partition_shows_its_row_count(page: Page, platform, screenshot):
    """The day's partition of clean_flights, materialized by the ranged run, shows that day's rows."""
    flights = _landed_flights(platform, DAY)
    assert flights > 0

    page.goto(f"/assets/clean_flights?view=partitions&partition={DAY}")
    expect(page.get_by_text(DAY, exact=True).filter(visible=True).first).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="dagster/row_count", exact=True)).last
    expect(row.get_by_role("cell").nth(1)).to_have_text(_number(flights))
    page.set_viewport_size({"width": 1440, "height": 1300})
    row.scroll_into_view_if_needed()
    row.evaluate(
        "r => { const g = document.createRange(); g.selectNodeContents(r);"
        " getSelection().removeAllRanges(); getSelection().addRange(g); }"
    )  # highlighted in the picture
    screenshot(page, "partition_row_count")


def test_asset_checks_are_listed_and_blocking_ones_passed(page: Page, graph, screenshot):
    import dagster as dg

    keys = sorted(graph.get_check_keys_for_assets({dg.AssetKey("clean_flights")}), key=lambda k: k.name)
    blocking = {k.name for k in keys if graph.get_check_spec(k).blocking}
    assert keys and blocking

    page.goto("/assets/clean_flights?view=checks")
    expect(page.get_by_text(f"Checks ({len(keys)})", exact=True)).to_be_visible()
    for key in keys:
        # An item of the list: the (middle-truncated) name carries the full name as its
        # title, the latest result is written under it.
        item = page.get_by_title(key.name, exact=True).locator("..").filter(has_text=CHECK_STATUS)
        expect(item).to_have_count(1)
        if key.name in blocking:
            expect(item).to_contain_text("Succeeded")
    # The detail of a blocking check (its result and metadata) for the screenshot.
    page.get_by_title("raw_equals_clean_plus_quarantined", exact=True).click()
    expect(page.get_by_text("This is a blocking asset check.", exact=False)).to_be_visible()
    expect(page.get_by_text("Passed", exact=True).first).to_be_visible()
    screenshot(page, "checks")


BACKFILL_QUERY = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      runs(limit: 10) { id status jobName tags { key value } }
    }
  }
}
"""


def test_a_backfill_launched_from_the_ui_runs_in_bounded_chunks_and_a_bad_day_fails_only_its_own(
    page: Page, dagster_dev, screenshot
):
    first, last = BACKFILL
    page.goto(f"/locations/{LOCATION}/jobs/main_job")
    page.get_by_role("button", name="Materialize all").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Partition selection")).to_be_visible()
    ranges = dialog.get_by_placeholder(re.compile(r"^ex: "))
    ranges.fill(f"[{first}...{last}]")
    ranges.press("Enter")
    days = (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days + 1
    expect(dialog.get_by_text(f"{days} partitions", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Launch backfill").click()

    toast = page.get_by_text(re.compile(r"^Created backfill \w+"))
    expect(toast).to_be_visible()
    backfill_id = re.search(r"Created backfill (\w+)", toast.inner_text()).group(1)
    page.get_by_role("link", name="View", exact=True).click()  # the toast's link to the backfill
    expect(page).to_have_url(re.compile(rf"/runs/b/{backfill_id}"))

    # The daemon submits the chunks' runs and the run workers execute them; poll the UI's own API.
    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    while True:
        backfill = dagster_dev.graphql(BACKFILL_QUERY, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING") or time.monotonic() > deadline:
            break
        time.sleep(2)
    runs = backfill["runs"]
    assert backfill["status"] == "COMPLETED_FAILED", backfill
    # PLATFORM_BACKFILL_PARTITIONS_PER_RUN=2 in the UI's processes: one run per chunk of at
    # most two days, every asset of the chunk in that run; the bad day fails its chunk alone
    windows = {}
    for run in runs:
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert run["jobName"] == "main_job", run
        assert tags.get("dagster/backfill") == backfill_id
        window = (tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end"))
        windows[window] = run["status"]
    assert windows == BACKFILL_CHUNKS, windows
    assert len(runs) == len(BACKFILL_CHUNKS)

    # What the page shows: the backfill failed, its chunks' runs listed with their statuses.
    page.goto(f"/runs/b/{backfill_id}?tab=runs")
    expect(page.get_by_text("Failed", exact=True).first).to_be_visible()
    for run in runs:
        expect(page.locator(f'a[href^="/runs/{run["id"]}"]').first).to_have_text(run["id"][:8])
    hrefs = page.locator('a[href^="/runs/"]').evaluate_all("links => links.map(a => a.getAttribute('href'))")
    listed = {m.group(1) for h in hrefs if (m := re.match(r"/runs/([0-9a-f]{8}-[0-9a-f-]{27})", h))}
    assert listed == {run["id"] for run in runs}, hrefs  # the chunks' runs, nothing else
    expect(page.get_by_text("Success", exact=True)).to_have_count(2)
    expect(page.get_by_text("Failure", exact=True)).to_have_count(1)
    screenshot(page, "backfill")


def _column_lineage_in_ui(page: Page, asset: str) -> list[dict]:
    """The ``dagster/column_lineage`` entry of ``asset``'s materialization of LINEAGE_DAY, as the UI shows it.

    Dagster's OSS UI has no column-lineage graph (a Dagster+ feature); it shows the metadata
    with each materialization: partition ``LINEAGE_DAY`` -> "View all historical events" -> the
    event's metadata -> dagster/column_lineage [Show JSON].
    """
    page.goto(f"/assets/{asset}?view=partitions&partition={LINEAGE_DAY}")
    page.get_by_role("button", name=re.compile(r"^View all historical events")).click()
    events = page.get_by_role("dialog")
    expect(events.get_by_text(f"Historical events for {LINEAGE_DAY}")).to_be_visible()
    events.get_by_role("row").filter(has_text="Materialization").first.get_by_role("button").first.click()
    entry = events.get_by_role("row").filter(has=page.get_by_role("cell", name="dagster/column_lineage", exact=True))
    expect(entry.last).to_be_visible()
    show = entry.last.get_by_text("[Show JSON]")
    if show.count():  # long values open in their own dialog, short ones are inline
        show.click()
        shown = page.get_by_role("dialog").filter(has_text="dagster/column_lineage").last
    else:
        shown = entry.last
    expect(shown).to_contain_text("columnName")
    text = shown.inner_text()
    return json.loads(text[text.index("[") : text.rindex("]") + 1])


SELECT_TEXT_IN_LAST_DIALOG = """needle => {
  const dialogs = document.querySelectorAll('[role=dialog]');
  const walker = document.createTreeWalker(dialogs[dialogs.length - 1], NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, at = node.textContent.indexOf(needle);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + needle.length);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    let box = node.parentElement;
    while (box && !(box.scrollHeight > box.clientHeight && /auto|scroll/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
    if (box) box.scrollTop += range.getBoundingClientRect().top - box.getBoundingClientRect().top - 120;
    return true;
  }
  return false;
}"""


def test_column_lineage_of_a_mart_column_is_reachable(page: Page, screenshot):
    """fct_flights.dep_delay_min, followed upstream in the UI, hop by hop, down to the raw layer."""
    asset, column = "fct_flights", "dep_delay_min"
    path = [f"{asset}.{column}"]
    for _ in range(5):
        lineage = {e["columnName"]: e["columnDeps"] for e in _column_lineage_in_ui(page, asset)}
        assert column in lineage, f"{asset}: no column lineage for {column}: {sorted(lineage)}"
        deps = lineage[column]
        assert deps, f"{asset}.{column}: no upstream column"
        if len(path) == 1:  # the mart's own entry, scrolled to the column and selected, for the README
            assert page.evaluate(SELECT_TEXT_IN_LAST_DIALOG, f'"columnName": "{column}"')
            screenshot(page, "column_lineage")
        asset, column = "/".join(deps[0]["assetKey"]["path"]), deps[0]["columnName"]
        path.append(f"{asset}.{column}")
        if asset.startswith("raw_"):
            break
    # fct_flights <- stg_flights <- clean_flights <- raw_flights (the landing file's column)
    assert [p.split(".")[0] for p in path] == ["fct_flights", "stg_flights", "clean_flights", "raw_flights"], path
    assert path[-1] == "raw_flights.dep_delay", path
