"""The traffic log's chain, without a database: a row's hash, linking, and the check that names
the first row changed, inserted or removed, before and after a purge."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from shared import traffic
from shared.traffic import GENESIS, ChainState, TrafficRow

T0 = datetime(2026, 12, 1, 2, 30, tzinfo=timezone.utc)


def written(count: int, start_id: int = 1) -> list[TrafficRow]:
    return [TrafficRow(id=start_id + n, at=T0 + timedelta(minutes=n), source=f"10.0.0.{n % 250}",
                       account="somchai" if n % 2 else "", method="GET", path=f"/intake/track/R{n:04d}",
                       status=200, bytes=1000 + n) for n in range(count)]


def linked(rows: list[TrafficRow], chain: ChainState = ChainState()) -> tuple[list[TrafficRow], ChainState]:
    links, chain = traffic.link(rows, chain)
    by_id = {row_id: (seq, digest) for row_id, seq, digest in links}
    return [replace(row, seq=by_id[row.id][0], hash=by_id[row.id][1]) for row in rows], chain


def test_a_rows_hash_is_sha256_over_the_previous_hash_its_place_and_every_field():
    row = written(1)[0]
    digest = traffic.row_hash(GENESIS, 1, row)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert traffic.row_hash(GENESIS, 1, row) == digest  # the same row, the same hash
    for changed in (dict(source="10.0.0.9"), dict(account="mallory"), dict(method="POST"), dict(path="/x"),
                    dict(status=404), dict(bytes=None), dict(at=row.at + timedelta(microseconds=1)), dict(id=99)):
        assert traffic.row_hash(GENESIS, 1, replace(row, **changed)) != digest, changed
    assert traffic.row_hash("1" * 64, 1, row) != digest
    assert traffic.row_hash(GENESIS, 2, row) != digest


def test_fields_cannot_be_shifted_from_one_into_the_next_to_give_the_same_hash():
    row = replace(written(1)[0], account="ab", method="GET")
    assert traffic.row_hash(GENESIS, 1, row) != traffic.row_hash(GENESIS, 1, replace(row, account="a", method="bGET"))


def test_an_intact_chain_verifies():
    rows, chain = linked(written(20))
    assert [r.seq for r in rows] == list(range(1, 21))
    assert chain.head_seq == 20 and chain.head_hash == rows[-1].hash
    assert traffic.verify(rows, chain) is None


def test_linking_later_rows_continues_the_chain():
    first, chain = linked(written(5))
    later, chain = linked(written(3, start_id=6), chain)
    assert [r.seq for r in later] == [6, 7, 8]
    assert traffic.verify(first + later, chain) is None


def test_one_changed_field_is_found_at_its_row():
    rows, chain = linked(written(10))
    rows[6] = replace(rows[6], account="someone-else")
    broken = traffic.verify(rows, chain)
    assert broken.seq == 7 and broken.row_id == rows[6].id and "changed" in broken.reason


def test_a_changed_row_whose_hash_was_recomputed_is_found_at_the_next_row():
    rows, chain = linked(written(10))
    forged = replace(rows[3], path="/innocent")
    rows[3] = replace(forged, hash=traffic.row_hash(rows[2].hash, 4, forged))
    broken = traffic.verify(rows, chain)
    assert broken.seq == 5


def test_a_removed_row_is_found_where_it_was():
    rows, chain = linked(written(10))
    del rows[4]
    broken = traffic.verify(rows, chain)
    assert broken.seq == 6 and "row 5 removed" in broken.reason


def test_rows_removed_from_the_end_are_found_by_the_recorded_newest_link():
    rows, chain = linked(written(10))
    broken = traffic.verify(rows[:7], chain)
    assert broken is not None and "rows 8 to 10 removed from the end" in str(broken)


def test_an_inserted_row_is_found_where_it_was_put():
    rows, chain = linked(written(10))
    intruder = replace(written(1, start_id=500)[0], seq=5, hash="f" * 64)
    tampered = rows[:4] + [intruder] + [replace(r, seq=r.seq + 1) for r in rows[4:]]
    broken = traffic.verify(tampered, chain)
    assert broken.seq == 5 and broken.row_id == 500


def test_an_inserted_row_with_a_correct_looking_hash_still_breaks_the_row_after_it():
    rows, chain = linked(written(10))
    intruder = written(1, start_id=500)[0]
    intruder = replace(intruder, seq=5, hash=traffic.row_hash(rows[3].hash, 5, intruder))
    tampered = rows[:4] + [intruder] + [replace(r, seq=r.seq + 1) for r in rows[4:]]
    assert traffic.verify(tampered, chain).seq == 6


def test_after_a_purge_the_chain_verifies_from_its_recorded_start():
    rows, chain = linked(written(10))
    kept = rows[4:]
    after_purge = ChainState(start_seq=5, start_hash=rows[3].hash, head_seq=chain.head_seq, head_hash=chain.head_hash)
    assert traffic.verify(kept, after_purge) is None
    # ...and still fails on tampering
    kept[2] = replace(kept[2], status=500)
    assert traffic.verify(kept, after_purge).seq == 7
    # ...and on the first kept rows removed as if purged, without the start recorded
    assert "row 5 removed" in traffic.verify(rows[5:], after_purge).reason


def test_a_purge_that_removed_everything_leaves_a_chain_that_verifies_and_continues():
    rows, chain = linked(written(4))
    emptied = ChainState(start_seq=5, start_hash=rows[-1].hash, head_seq=4, head_hash=rows[-1].hash)
    assert traffic.verify([], emptied) is None
    later, chain = linked(written(2, start_id=5), emptied)
    assert [r.seq for r in later] == [5, 6]
    assert traffic.verify(later, chain) is None


def test_the_purge_takes_the_oldest_rows_up_to_the_first_one_still_kept():
    rows, _ = linked(written(10))
    before = T0 + timedelta(minutes=6)
    assert traffic.prefix_to_purge([(r.seq, r.at) for r in rows], before) == 6
    # a row linked late (written earlier than one before it) stays with those after it
    out_of_order = [(1, T0), (2, T0 + timedelta(minutes=10)), (3, T0 + timedelta(minutes=1))]
    assert traffic.prefix_to_purge(out_of_order, T0 + timedelta(minutes=5)) == 1
    assert traffic.prefix_to_purge([(r.seq, r.at) for r in rows], T0) is None


@pytest.mark.parametrize("raw_path, raw_query, logged", [
    (b"/intake/track/R0001", b"token=abc.def&lang=en", "/intake/track/R0001?lang=en"),
    (b"/intake/track/R0001/survey", b"score=5&TOKEN=x", "/intake/track/R0001/survey?score=5"),
    (b"/auth/callback", b"code=secret&state=s&access_token=t&id_token=u&password=p&client_secret=c", "/auth/callback"),
    (b"/intake/forms/up/x", b"", "/intake/forms/up/x"),
    (b"/procurement/vendors", b"q=%E0%B8%81&limit=5", "/procurement/vendors?q=%E0%B8%81&limit=5"),
    (b"/a\x00b", b"q=\xff\x00", "/a%00b?q=%FF%00"),
    (b"/x", b"a+token=1&x=1", "/x?x=1"),
])
def test_the_logged_path_keeps_the_query_without_credentials_and_escapes_what_is_not_text(raw_path, raw_query, logged):
    assert traffic.logged_path(raw_path, raw_query) == logged


def test_a_very_long_path_is_cut():
    assert len(traffic.logged_path(b"/" + b"a" * 10_000, b"")) == traffic.MAX_PATH
