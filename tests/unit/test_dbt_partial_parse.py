"""dbt's partial-parse state is kept per warehouse connection and reused by the next invocation."""

from __future__ import annotations

import os

from platform_assets.assets.dbt import (
    KEPT_STATES,
    PARTIAL_PARSE_FILE,
    keep_partial_parse,
    partial_parse_state,
    seed_partial_parse,
)

EMBEDDED = {
    "PLATFORM_PGHOST": "/x/.platform/pgdata",
    "PLATFORM_PGPORT": "5432",
    "PLATFORM_PGUSER": "postgres",
    "PLATFORM_PGDATABASE": "warehouse",
    "PLATFORM_PGPASSWORD": "",
}


def test_each_connection_has_its_own_state_and_the_password_is_not_part_of_it(tmp_path):
    other_db = {**EMBEDDED, "PLATFORM_PGDATABASE": "warehouse_x10"}
    new_password = {**EMBEDDED, "PLATFORM_PGPASSWORD": "s3cret"}
    assert partial_parse_state(tmp_path, EMBEDDED) != partial_parse_state(tmp_path, other_db)
    assert partial_parse_state(tmp_path, EMBEDDED) == partial_parse_state(tmp_path, new_password)
    assert "s3cret" not in str(partial_parse_state(tmp_path, new_password))


def test_the_state_an_invocation_wrote_seeds_the_next_one(tmp_path):
    state = partial_parse_state(tmp_path / "target", EMBEDDED)
    first, second = tmp_path / "run-1", tmp_path / "run-2"
    first.mkdir(), second.mkdir()
    seed_partial_parse(first, state)  # nothing kept yet: dbt will parse
    assert not (first / PARTIAL_PARSE_FILE).exists()
    (first / PARTIAL_PARSE_FILE).write_bytes(b"parsed once")
    keep_partial_parse(first, state)
    seed_partial_parse(second, state)
    assert (second / PARTIAL_PARSE_FILE).read_bytes() == b"parsed once"
    keep_partial_parse(tmp_path / "run-without-parse", state)  # dbt wrote nothing: the kept state stays
    assert state.read_bytes() == b"parsed once"


def test_only_the_most_recently_used_connections_keep_a_state(tmp_path):
    target = tmp_path / "target"
    states = []
    for i in range(KEPT_STATES + 3):  # e.g. one test session after another, each on its own server
        state = partial_parse_state(target, {**EMBEDDED, "PLATFORM_PGHOST": f"/tmp/session-{i}/pgdata"})
        run = tmp_path / f"run-{i}"
        run.mkdir()
        (run / PARTIAL_PARSE_FILE).write_bytes(f"state {i}".encode())
        keep_partial_parse(run, state)
        os.utime(state, (1_000_000 + i, 1_000_000 + i))  # distinct, ordered write times
        states.append(state)
    kept = {p.name for p in (target / "partial_parse").glob("*.msgpack")}
    assert kept == {s.name for s in states[-KEPT_STATES:]}


def test_a_state_used_again_outlives_states_written_after_it(tmp_path):
    """The project's own connection, parsed once long ago and reused since, survives a burst of test sessions."""
    target = tmp_path / "target"
    daily = partial_parse_state(target, EMBEDDED)
    first = tmp_path / "first-run"
    first.mkdir()
    (first / PARTIAL_PARSE_FILE).write_bytes(b"the project's state")
    keep_partial_parse(first, daily)
    os.utime(daily, (1_000_000, 1_000_000))  # written long ago
    for i in range(KEPT_STATES - 1):  # sessions on other servers write their states after it
        state = partial_parse_state(target, {**EMBEDDED, "PLATFORM_PGHOST": f"/tmp/session-{i}/pgdata"})
        run = tmp_path / f"session-{i}"
        run.mkdir()
        (run / PARTIAL_PARSE_FILE).write_bytes(f"state {i}".encode())
        keep_partial_parse(run, state)
        os.utime(state, (2_000_000 + i, 2_000_000 + i))
    reuse = tmp_path / "today"
    reuse.mkdir()
    seed_partial_parse(reuse, daily)  # today's run starts from it (dbt did not change it)
    keep_partial_parse(reuse, daily)
    for i in range(3):  # then more sessions
        state = partial_parse_state(target, {**EMBEDDED, "PLATFORM_PGHOST": f"/tmp/later-{i}/pgdata"})
        run = tmp_path / f"later-{i}"
        run.mkdir()
        (run / PARTIAL_PARSE_FILE).write_bytes(f"later {i}".encode())
        keep_partial_parse(run, state)
    assert daily.read_bytes() == b"the project's state"
    assert len(list((target / "partial_parse").glob("*.msgpack"))) == KEPT_STATES
