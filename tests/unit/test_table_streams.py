"""The flows' table streams (streaming.stream_table, stream_changes) across restarts:
a flow's Delta streams read each row exactly once, and replay a batch whole.

Where a restart could go wrong: new rows after the first batch, a table that was empty in the first batch, a
first batch planned but not committed (replayed with its own rows), and a change data feed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fitlake.parameters import BATCH
from fitlake.streaming import StreamTarget, Trigger, for_each_batch, stream_changes, stream_table


@pytest.fixture
def tables(spark, request):
    """Two empty Delta tables (k, v) with the change data feed on, named after the test."""
    stem = f"default.ts_{request.node.name}"[:100]
    names = (f"{stem}_a", f"{stem}_b")
    for name in names:
        spark.sql(f"DROP TABLE IF EXISTS {name}")
        spark.sql(
            f"CREATE TABLE {name} (k STRING, v BIGINT) USING DELTA TBLPROPERTIES (delta.enableChangeDataFeed = true)"
        )
    return names


def _append(spark, table: str, *rows: tuple[str, int]) -> None:
    spark.createDataFrame(list(rows), "k STRING, v BIGINT").write.format("delta").mode("append").saveAsTable(table)


def _run(spark, checkpoint: Path, open_stream) -> list[tuple[int, str, int]]:
    """One batch run of the query ``open_stream(spark)`` on ``checkpoint``: (batch id, k, v) of each row seen."""
    seen: list[tuple[int, str, int]] = []

    def handle(batch, batch_id: int) -> None:
        seen.extend((batch_id, row.k, row.v) for row in batch.collect())

    stream = open_stream(spark)
    target = StreamTarget("unused", str(checkpoint), Trigger(BATCH))
    for_each_batch(stream, target, handle).awaitTermination()
    return sorted(seen)


def test_a_restart_after_the_first_batch_reads_exactly_the_new_rows(spark, tables, tmp_path):
    """a has a row at the first batch, b none yet: afterwards, every row of each later commit is read once."""
    a, b = tables
    _append(spark, a, ("a1", 1))
    checkpoint = tmp_path / "checkpoint"

    def both(spark):
        return stream_table(spark, a).unionByName(stream_table(spark, b))

    assert _run(spark, checkpoint, both) == [(0, "a1", 1)]
    _append(spark, a, ("a2", 2))
    _append(spark, b, ("b1", 3))
    _append(spark, b, ("b2", 4))
    # The second batch holds exactly the rows appended since, from both tables.
    assert _run(spark, checkpoint, both) == [(1, "a2", 2), (1, "b1", 3), (1, "b2", 4)]
    assert _run(spark, checkpoint, both) == []


def test_a_first_batch_planned_but_not_committed_is_replayed_with_its_own_rows(spark, tables, tmp_path):
    a, _ = tables
    _append(spark, a, ("a1", 1))
    checkpoint = tmp_path / "checkpoint"

    def only_a(spark):
        return stream_table(spark, a)

    assert _run(spark, checkpoint, only_a) == [(0, "a1", 1)]
    shutil.rmtree(checkpoint / "commits")  # a crash after the batch's writes, before its commit
    _append(spark, a, ("a2", 2))
    # The replay reads the first batch's own rows (Delta's initial snapshot, as planned), then the new row.
    assert _run(spark, checkpoint, only_a) == [(0, "a1", 1), (1, "a2", 2)]


def test_a_change_feed_restarted_after_its_first_batch_reads_exactly_the_new_changes(spark, tables, tmp_path):
    a, _ = tables
    _append(spark, a, ("a1", 1))
    checkpoint = tmp_path / "checkpoint"

    def changes(spark):
        return stream_changes(spark, a, ("insert", "update_postimage")).select("k", "v")

    assert _run(spark, checkpoint, changes) == [(0, "a1", 1)]
    spark.sql(f"UPDATE {a} SET v = 10 WHERE k = 'a1'")
    _append(spark, a, ("a2", 2))
    assert _run(spark, checkpoint, changes) == [(1, "a1", 10), (1, "a2", 2)]
