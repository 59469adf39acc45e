"""The scale generator: N distinct copies of every flight, everything else unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import io

from benchmarks.scale_landing import scale_flights, scale_landing
from platform_assets.resources.storage import StorageResource
from platform_assets.sources.nycflights13 import publish_sample


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_every_flight_is_repeated_under_distinct_flight_numbers_with_its_other_fields_intact(tmp_path):
    source = StorageResource(url=str(tmp_path / "landing"))
    target = StorageResource(url=str(tmp_path / "scaled"))
    publish_sample(source, dt.date(2013, 2, 1), dt.date(2013, 2, 2))
    counts = scale_landing(source, target, 3)

    original = rows(source.read_bytes("flights/2013-02-01.csv"))
    scaled = rows(target.read_bytes("flights/2013-02-01.csv"))
    assert len(scaled) == 3 * len(original)
    key = lambda r: (r["carrier"], r["flight"], r["origin"])  # noqa: E731
    assert len({key(r) for r in scaled}) == len(scaled) > 0  # every copy is a distinct flight
    without_number = lambda r: {k: v for k, v in r.items() if k != "flight"}  # noqa: E731
    for k in range(3):
        copy = scaled[k * len(original) : (k + 1) * len(original)]
        assert [without_number(r) for r in copy] == [without_number(r) for r in original]
        assert [int(r["flight"]) for r in copy] == [int(r["flight"]) + k * 10_000 for r in original]
    # weather and reference files are byte-for-byte the same
    for key_ in source.list_keys():
        if not key_.startswith("flights/"):
            assert target.read_bytes(key_) == source.read_bytes(key_)
    assert counts["flights_files"] == 2
    assert counts["flights_rows"] == 3 * (len(original) + len(rows(source.read_bytes("flights/2013-02-02.csv"))))


def test_missing_values_stay_as_delivered():
    data = b"year,month,day,dep_time,flight\n2013,1,1,NA,5\n2013,1,1,,6\n"
    assert scale_flights(data, 2).decode().splitlines() == [
        "year,month,day,dep_time,flight",
        "2013,1,1,NA,5",
        "2013,1,1,,6",
        "2013,1,1,NA,10005",
        "2013,1,1,,10006",
    ]
