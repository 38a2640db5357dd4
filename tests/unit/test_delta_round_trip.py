"""Delta through the local runtime: create, MERGE (idempotent), an availableNow stream, read back."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from fitlake import foundation_demo as demo
from fitlake.streaming import (
    MergeSpec,
    StreamTarget,
    Trigger,
    append_once,
    append_stream,
    bounds,
    bounds_where,
    follow_interval,
    latest_commit,
    latest_per_key,
    merge_into,
    merge_stream,
    merge_with_tombstones,
    overlapping,
    persisted,
    rows_added_by,
    target_between,
    within,
)

SPEC = MergeSpec(keys=("k",), order_by="v")


@pytest.fixture
def table(spark, request):
    name = f"default.rt_{request.node.name.replace('[', '_').replace(']', '_')}"[:120]
    spark.sql(f"DROP TABLE IF EXISTS {name}")
    spark.sql(f"CREATE TABLE {name} (k STRING, v BIGINT) USING DELTA")
    return name


def test_latest_per_key_keeps_one_row_per_key_the_newest(spark):
    df = spark.createDataFrame([("a", 1), ("a", 3), ("b", 2), ("a", 3)], "k STRING, v BIGINT")
    assertDataFrameEqual(
        latest_per_key(df, ["k"], "v"), spark.createDataFrame([("a", 3), ("b", 2)], "k STRING, v BIGINT")
    )


def test_merge_inserts_absent_updates_only_when_newer_and_is_idempotent(spark, table):
    merge_into(spark, spark.createDataFrame([("a", 5), ("b", 1)], "k STRING, v BIGINT"), table, SPEC)
    updates = spark.createDataFrame([("a", 3), ("b", 2), ("b", 2), ("c", 7)], "k STRING, v BIGINT")
    merge_into(spark, updates, table, SPEC)
    merge_into(spark, updates, table, SPEC)
    expected = spark.createDataFrame([("a", 5), ("b", 2), ("c", 7)], "k STRING, v BIGINT")
    assertDataFrameEqual(spark.table(table), expected)


STORED = [("newer", 5, "old"), ("outdated", 5, "old"), ("same_instant", 7, "old"), ("after", 8, "old"),
          ("older_upsert", 5, "old"), ("null_time", None, "old"), (None, 1, "old")]  # fmt: skip
UPSERTS = [("newer", 9, "new"), ("newer", 8, "new8"), ("fresh", 3, "new"), ("older_upsert", 4, "new"),
           ("null_time", 2, "new"), (None, 2, "new")]  # fmt: skip
TOMBSTONES = [("newer", 7), ("outdated", 7), ("same_instant", 7), ("after", 7), ("gone_already", 7), (None, 9)]


def test_one_merge_applies_upserts_and_tombstones_as_the_two_statements_in_turn_did(spark):
    """silver.user_profile's batch: the newest upsert wins where newer, a row its tombstone outdates is deleted (a
    delete at the same instant as the update wins), in one MERGE; the same table as merge_into then a delete by
    equality (the two statements it replaces), and a replay of the batch changes nothing."""
    schema, spec = "k STRING, updated BIGINT, note STRING", MergeSpec(keys=("k",), order_by="updated")
    tombstones = spark.createDataFrame(TOMBSTONES, "k STRING, deleted BIGINT")
    upserts = spark.createDataFrame(UPSERTS, schema)  # each newer than its key's tombstone, as the caller ensures
    tables = {}
    for way in ("one", "two"):
        tables[way] = name = f"default.tombstones_{way}"
        spark.sql(f"DROP TABLE IF EXISTS {name}")
        spark.sql(f"CREATE TABLE {name} ({schema}) USING DELTA")
        spark.createDataFrame(STORED, schema).write.format("delta").mode("append").saveAsTable(name)
    merge_with_tombstones(spark, upserts, tombstones, tables["one"], spec, "deleted")
    merge_into(spark, upserts, tables["two"], spec)
    tombstones.createOrReplaceTempView("tombstones")
    spark.sql(f"MERGE INTO {tables['two']} t USING tombstones s ON t.k = s.k "
              "WHEN MATCHED AND s.deleted >= t.updated THEN DELETE")  # fmt: skip
    expected = spark.createDataFrame(
        [
            ("newer", 9, "new"),
            ("after", 8, "old"),
            ("fresh", 3, "new"),
            ("older_upsert", 5, "old"),
            ("null_time", 2, "new"),
            (None, 2, "new"),
        ],  # fmt: skip
        schema,
    )
    assertDataFrameEqual(spark.table(tables["one"]), expected)
    assertDataFrameEqual(spark.table(tables["one"]), spark.table(tables["two"]))
    merge_with_tombstones(spark, upserts, tombstones, tables["one"], spec, "deleted")
    assertDataFrameEqual(spark.table(tables["one"]), expected)


def test_available_now_stream_appends_once_across_runs(spark, table, tmp_path):
    landing = tmp_path / "landing"
    spark.createDataFrame([("x", 1), ("y", 2)], "k STRING, v BIGINT").write.json(str(landing / "one"))
    target = StreamTarget(table=table, checkpoint=str(tmp_path / "checkpoint"), trigger=Trigger("batch"))

    def run() -> None:
        stream = spark.readStream.schema("k STRING, v BIGINT").json(str(landing / "*"))
        append_stream(stream, target).awaitTermination()

    run()
    run()  # nothing new: the checkpoint says both files were processed
    assert spark.table(table).count() == 2
    spark.createDataFrame([("z", 3)], "k STRING, v BIGINT").write.json(str(landing / "two"))
    run()
    assertDataFrameEqual(
        spark.table(table), spark.createDataFrame([("x", 1), ("y", 2), ("z", 3)], "k STRING, v BIGINT")
    )


def test_merge_stream_upserts_each_micro_batch(spark, table, tmp_path):
    landing = tmp_path / "landing"
    spark.createDataFrame([("a", 1), ("a", 4), ("b", 2)], "k STRING, v BIGINT").write.json(str(landing))
    stream = spark.readStream.schema("k STRING, v BIGINT").json(str(landing))
    merge_stream(stream, StreamTarget(table=table, checkpoint=str(tmp_path / "cp")), SPEC).awaitTermination()
    assertDataFrameEqual(spark.table(table), spark.createDataFrame([("a", 4), ("b", 2)], "k STRING, v BIGINT"))


def test_demo_readings_keep_full_precision_times(spark):
    raw = spark.createDataFrame([(1, 1678451168.5, 60.0, 1678451168.0)], demo.READING_SCHEMA)
    row = demo.readings(raw).first()
    assert row.time.timestamp() == 1678451168.5


def test_trigger_modes():
    assert Trigger("batch").options() == {"availableNow": True}
    assert Trigger("continuous", "5 seconds").options() == {"processingTime": "5 seconds"}
    with pytest.raises(ValueError, match="batch"):
        Trigger("sometimes")


def test_flows_after_bronze_follow_five_times_as_often_but_at_most_once_a_second():
    assert follow_interval(5) == "1000 milliseconds"
    assert follow_interval(60) == "12000 milliseconds"
    assert follow_interval(2) == "1000 milliseconds"
    assert follow_interval(0.5) == "500 milliseconds"  # never slower than the trigger itself


def test_pruned_merge_bounds_cover_every_key_of_the_batch(spark, tmp_path):
    """The pruning bounds come from the raw batch: a key whose newest row is not its first still lands."""
    name = "default.rt_pruned_merge"
    spark.sql(f"DROP TABLE IF EXISTS {name}")
    spark.sql(f"CREATE TABLE {name} (k BIGINT, v BIGINT) USING DELTA")
    spec = MergeSpec(keys=("k",), order_by="v", prune_by="k")
    merge_into(spark, spark.createDataFrame([(1, 1), (9, 1)], "k BIGINT, v BIGINT"), name, spec)
    updates = spark.createDataFrame([(1, 5), (1, 2), (9, 0), (9, 7), (4, 3)], "k BIGINT, v BIGINT")
    merge_into(spark, updates, name, spec)
    merge_into(spark, updates, name, spec)
    expected = spark.createDataFrame([(1, 5), (4, 3), (9, 7)], "k BIGINT, v BIGINT")
    assertDataFrameEqual(spark.table(name), expected)


def test_bounds_where_gives_each_subset_its_span_and_none_for_an_empty_one(spark):
    df = spark.createDataFrame(
        [("r", 3, 4), ("r", 1, 2), ("e", 10, 20), ("e", 5, 30), ("x", None, None)], "kind STRING, lo INT, hi INT"
    )
    kind = F.col("kind")
    spans = bounds_where(
        df, {"r": (kind == "r", "lo", "hi"), "e": (kind == "e", "lo", "hi"), "none": (kind == "z", "lo", "hi")}
    )
    assert spans == {"r": ("1", "4"), "e": ("5", "30"), "none": None}
    assert bounds(df.where(kind == "e"), "lo", "hi") == ("5", "30")
    assert bounds(df.where(kind == "x"), "lo") is None
    assert bounds(df.where(F.lit(False)), "lo") is None


def test_a_span_from_bounds_selects_its_times_ends_included_and_the_intervals_reaching_into_it(spark):
    times = spark.sql(
        "SELECT * FROM VALUES (1, TIMESTAMP'2024-01-01 10:00:00', TIMESTAMP'2024-01-01 10:30:00'), "
        "(2, TIMESTAMP'2024-01-01 11:00:00', TIMESTAMP'2024-01-01 12:00:00'), "
        "(3, TIMESTAMP'2024-01-01 09:00:00', TIMESTAMP'2024-01-01 09:59:59') AS t(id, start_time, end_time)"
    )
    span = bounds(times.where("id = 1"), "start_time", "end_time")
    assert span == ("2024-01-01 10:00:00", "2024-01-01 10:30:00")
    assert sorted(r.id for r in times.where(within("start_time", span)).collect()) == [1]
    ends = times.where(within("end_time", ("2024-01-01 09:59:59", "2024-01-01 10:29:59")))
    assert [r.id for r in ends.collect()] == [3]  # its end on the span's start counts; 10:30 is past the span
    # Reaching in: ends at or after the span's start, starts before its end (one starting at its end does not).
    reaching = times.where(overlapping("start_time", "end_time", ("2024-01-01 09:59:59", "2024-01-01 11:00:00")))
    assert sorted(r.id for r in reaching.collect()) == [1, 3]


def test_a_targets_span_condition_selects_the_target_rows_inside_the_span_ends_included(spark):
    """The MERGE target conditions (``target_between``) of pruned MERGEs: timestamps unless said, dates and
    numbers too; any other type is refused rather than compared as text."""
    rows = spark.sql(
        "SELECT * FROM VALUES (1, TIMESTAMP'2024-01-01 10:00:00', DATE'2024-01-01'), "
        "(2, TIMESTAMP'2024-01-01 11:00:00', DATE'2024-01-03'), (3, TIMESTAMP'2024-01-01 11:00:01', DATE'2024-01-02') "
        "AS t(id, time, day)"
    ).alias("t")
    span = ("2024-01-01 10:00:00", "2024-01-01 11:00:00")
    assert sorted(r.id for r in rows.where(target_between("time", span)).collect()) == [1, 2]
    days = rows.where(target_between("day", ("2024-01-02", "2024-01-03"), T.DateType()))
    assert sorted(r.id for r in days.collect()) == [2, 3]
    assert sorted(r.id for r in rows.where(target_between("id", ("2", "3"), T.IntegerType())).collect()) == [2, 3]
    with pytest.raises(TypeError, match="cannot prune a MERGE by a string column"):
        target_between("name", ("a", "b"), T.StringType())


def test_persisted_releases_the_cache_however_the_block_ends(spark):
    frame = spark.range(3)
    with pytest.raises(RuntimeError), persisted(frame) as cached:
        assert cached.is_cached
        raise RuntimeError("a MERGE failed")
    assert not frame.is_cached


def test_append_once_skips_an_empty_batch_and_never_appends_a_batch_twice(spark, table):
    before = latest_commit(spark, table)[0]
    empty = spark.createDataFrame([], "k STRING, v BIGINT")
    append_once(empty, table, "app", 0, skip_empty=True)
    assert latest_commit(spark, table)[0] == before  # no commit at all, not even an empty one
    rows = spark.createDataFrame([("a", 1)], "k STRING, v BIGINT")
    append_once(rows, table, "app", 1, skip_empty=True)
    append_once(rows, table, "app", 1, skip_empty=True)  # a replayed batch
    assertDataFrameEqual(spark.table(table), rows)
    append_once(empty, table, "app", 2)  # without skip_empty an empty batch still commits
    assert latest_commit(spark, table)[0] == before + 2


def test_rows_added_per_value_come_from_the_added_files_statistics_and_say_nothing_when_they_cannot(spark, table):
    """What a run's summary counts its quarantined rows by (one source per append), without a Spark job; a table
    dropped and created again is looked up afresh (its log is new)."""
    before = latest_commit(spark, table)[0]
    _append_one_file(spark, table, [("a", 1), ("a", 2)])
    _append_one_file(spark, table, [("b", 3)])
    assert rows_added_by(spark, table, before, "k") == {"a": 2, "b": 1}
    assert rows_added_by(spark, table, before + 1, "k") == {"b": 1}
    assert rows_added_by(spark, table, before + 2, "k") == {}
    mixed = latest_commit(spark, table)[0]
    _append_one_file(spark, table, [("c", 4), ("d", 5)])
    assert rows_added_by(spark, table, mixed, "k") is None  # one file, two values: only a query can tell
    deleted = latest_commit(spark, table)[0]
    spark.sql(f"DELETE FROM {table} WHERE k = 'a'")
    assert rows_added_by(spark, table, deleted, "k") is None  # rows removed too: only a query can tell

    spark.sql(f"DROP TABLE {table}")
    spark.sql(f"CREATE TABLE {table} (k STRING, v BIGINT) USING DELTA")
    assert latest_commit(spark, table)[0] == 0
    _append_one_file(spark, table, [("e", 6)])
    assert rows_added_by(spark, table, 0, "k") == {"e": 1}


def _append_one_file(spark, table: str, rows: list[tuple]) -> None:  # noqa: ANN001
    frame = spark.createDataFrame(rows, "k STRING, v BIGINT").coalesce(1)
    frame.write.format("delta").mode("append").saveAsTable(table)
