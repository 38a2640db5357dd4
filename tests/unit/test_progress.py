"""What a pipeline run prints: stage and micro-batch lines, the continuous heartbeat, the summary table."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from fitlake.config import load_config
from fitlake.pipeline import RunSummary
from fitlake.pipeline.progress import (
    LAG_MEANS,
    OFFSETS,
    SUMMARY_COLUMNS,
    Heartbeat,
    batch_line,
    heartbeat_line,
    progress_event,
    reporting,
    rows_written,
    source_lag,
    start_line,
    summary_table,
)
from fitlake.tables import SetupResult, all_ddl, setup_objects

HANG_GUARD_WAITS = 300  # waits of TOLD_WAIT_SECONDS for a one-batch query over three rows: only a hang takes this long


def _summary(**overrides: object) -> dict:
    summary = RunSummary(mode="batch", layers=["bronze", "silver"], started="2026-01-01T00:00:00+00:00", seconds=42.345)
    summary.tables = {
        "bronze.gym_logins_bz": {"inserted": 1234, "updated": 0, "deleted": 0},
        "silver.gym_logs": {"inserted": 10, "updated": 3, "deleted": 1},
        "silver.users": {"inserted": 0, "updated": 0, "deleted": 0},
    }
    summary.quarantined = {"bronze.gym_logins_bz": 2, "silver.heart_rate": 5}
    summary.flow_seconds = {"bronze.gym_logins_bz": 8.26, "silver.gym_logs": 16.71}
    summary.skipped = ["silver.users"]
    return {**summary.as_dict(), **overrides}


def test_the_summary_table_has_a_row_per_table_aligned_under_its_header_and_the_totals():
    lines = summary_table(_summary()).splitlines()
    assert lines[0] == "batch run of bronze, silver: completed"
    header, rows, total = lines[1], [lines[3], lines[4], lines[5], lines[6]], lines[8]
    assert header.split() == list(SUMMARY_COLUMNS)
    assert lines[2] == lines[7] == "-" * len(header)
    assert {len(line) for line in [header, *rows, total]} == {len(header)}  # every row as wide as the header
    cells = {row.split()[0]: row.split()[1:] for row in rows}
    assert cells == {
        "bronze.gym_logins_bz": ["1,234", "0", "0", "2", "8.3"],
        "silver.gym_logs": ["10", "3", "1", "0", "16.7"],
        "silver.users": ["0", "0", "0", "0", "skipped"],
        "silver.heart_rate": ["0", "0", "0", "5"],  # quarantined only: no rows written, no seconds
    }
    assert total.split() == ["total", "1,244", "3", "1", "7", "42.3"]
    # Numbers are right-aligned: each column ends where its header ends.
    for column in SUMMARY_COLUMNS[1:]:
        end = header.index(column) + len(column)
        assert all(row[:end].rstrip() == row[:end] for row in [*rows[:3], total])


def test_the_summary_table_of_a_continuous_run_leaves_the_seconds_of_each_flow_blank():
    table = summary_table(_summary(mode="continuous", stopped_by="timeout", flow_seconds={}, skipped=[]))
    assert table.splitlines()[0] == "continuous run of bronze, silver: timeout"
    gym_logs = next(line for line in table.splitlines() if line.startswith("silver.gym_logs"))
    assert gym_logs.split()[1:] == ["10", "3", "1", "0"]


def test_the_summary_table_reads_the_json_the_driver_exits_with():
    assert summary_table(json.loads(json.dumps(_summary()))) == summary_table(_summary())


def test_a_batch_line_names_flow_batch_rows_read_rows_written_and_seconds():
    line = batch_line("silver.users", 3, 1200, 1180, 2.345, width=20)
    assert line.split() == ["silver.users", "batch", "3", "1,200", "rows", "read", "1,180", "written", "2.3", "s"]
    assert line.index("batch") == len("  ") + 20 + len("  ")  # flow names padded to one width: columns line up
    assert batch_line("gold.workout_bpm_summary", 0, 5, None, 0.1).split()[6] == "?"  # not known without a job


def test_a_start_line_names_the_flows_that_start_and_those_skipped():
    assert start_line(["silver.users", "silver.gym_logs"], ["silver.heart_rate"]) == (
        "start 2 flows (silver.users, silver.gym_logs), 1 skipped (nothing new: silver.heart_rate)"
    )
    assert start_line(["gold.workout_bpm_summary"], []) == "start 1 flow (gold.workout_bpm_summary)"
    assert start_line([], ["silver.user_bins"]) == "start 0 flows, 1 skipped (nothing new: silver.user_bins)"


@pytest.mark.parametrize(
    ("end", "latest", "lag"),
    [
        # Delta: table versions not yet read.
        (
            '{"sourceVersion":1,"reservoirVersion":7,"index":-1}',
            '{"sourceVersion":1,"reservoirVersion":9,"index":-1}',
            2,
        ),
        # The file source: log entries (file batches) not yet read.
        ('{"logOffset":4}', '{"logOffset":4}', 0),
        # Kafka: records per partition, summed; a partition new since the end offset counts from 0.
        ('{"bpm":{"0":10,"1":20}}', '{"bpm":{"0":15,"1":20,"2":3}}', 8),
        ("None", '{"logOffset":4}', None),  # no read position yet
        ('{"logOffset":4}', "not json", None),
    ],
)
def test_a_sources_lag_is_how_far_its_read_position_trails_the_newest_offset(end, latest, lag):
    assert source_lag(end, latest) == lag


def test_the_heartbeat_names_flows_behind_counts_the_rest_and_says_what_lag_means():
    line = heartbeat_line(30.4, {"bronze.kafka_multiplex_bz": 120, "silver.users": 0, "gold.workout_bpm_summary": None})
    expected = "heartbeat 30 s | behind: bronze.kafka_multiplex_bz 120 | 1 caught up | 1 not reporting yet"
    assert line == f"{expected} ({LAG_MEANS})"
    assert "no flow behind | 2 caught up" in heartbeat_line(60, {"a": 0, "b": 0})


def test_the_heartbeat_prints_at_most_once_per_trigger_interval():
    printed: list[str] = []
    Heartbeat(3600, lambda: {"silver.users": 2}, printed.append).tick()
    assert printed == []  # an hour has not passed
    every_tick = Heartbeat(0, lambda: {"silver.users": 2}, printed.append)
    every_tick.tick()
    every_tick.tick()
    assert [line.split(" | ")[1] for line in printed] == ["behind: silver.users 2"] * 2


def test_rows_written_reads_merge_and_append_commit_metrics():
    merge = {
        "numTargetRowsInserted": "3",
        "numTargetRowsUpdated": "2",
        "numTargetRowsDeleted": "1",
        "numOutputRows": "9",
    }
    append = {"numOutputRows": "4"}
    assert rows_written([merge, append, {}]) == {"inserted": 7, "updated": 2, "deleted": 1}


def test_the_trigger_interval_in_seconds(spark):
    config = load_config(spark, "dev")
    assert replace(config, processing_time="10 seconds").processing_seconds == 10
    assert replace(config, processing_time="1 minute").processing_seconds == 60
    assert replace(config, processing_time="1.5 hours").processing_seconds == 5400


def test_the_setup_says_in_one_line_how_many_objects_were_present_and_created(spark):
    config = load_config(spark, "dev")
    statements = all_ddl(config)
    assert len(statements) == len(setup_objects())  # one statement per schema, table and view
    n = len(statements)
    current = SetupResult(statements, applied=False).describe("main")
    assert current == (
        f"{n} of {n} schemas, tables and views present, 0 created; definitions current: nothing run (catalog main)"
    )
    fresh = SetupResult(statements, applied=True, created=("silver.users", "gold.gym_summary")).describe("main")
    assert fresh == (
        f"{n - 2} of {n} schemas, tables and views present, 2 created (silver.users, gold.gym_summary) (catalog main)"
    )
    assert "CREATE" not in current + fresh
    everything = SetupResult(statements, applied=True, created=tuple(setup_objects())).describe("main")
    assert everything == f"0 of {n} schemas, tables and views present, {n} created (catalog main)"


def test_a_query_runs_end_is_told_after_its_batch_line_and_its_progress_reads_the_same_from_json(spark, tmp_path):
    """A real availableNow query from one Delta table into another: the listener prints its batch line, then
    tells its run's end (what a batch run waits on instead of asking each query); the progress read from its JSON
    (what the listener reads, in one call into the JVM) says what pyspark's field-by-field reading says."""
    from pyspark.sql.streaming.listener import StreamingQueryProgress

    source, target, name = "default.progress_source", "default.progress_target", "progress_test"
    for table in (source, target):
        spark.sql(f"DROP TABLE IF EXISTS {table}")
    spark.range(3).write.format("delta").saveAsTable(source)
    spark.range(0).write.format("delta").saveAsTable(target)
    lines: list[str] = []
    with reporting(spark, {name: {target: 0}}, lines.append) as reporter:
        query = (
            spark.readStream.table(source)
            .writeStream.foreachBatch(lambda batch, _: batch.write.format("delta").mode("append").saveAsTable(target))
            .option("checkpointLocation", str(tmp_path / "checkpoint"))
            .trigger(availableNow=True)
            .queryName(name)
            .start()
        )
        told: set[str] = set()
        for _ in range(HANG_GUARD_WAITS):
            told = reporter.wait_for_end({query.runId, "another run"})
            if told:
                break
        assert told == {query.runId}, f"the query's end was not told; its state: {query.status}"
        assert not query.isActive
        assert lines == [batch_line(name, 0, 3, 3, _seconds(lines[0]), len(name))]

    java = query._jsq.lastProgress()
    ours, pysparks = progress_event(java.json()).progress, StreamingQueryProgress.fromJObject(java)
    for field in ("id", "runId", "name", "batchId", "numInputRows", "durationMs"):
        assert getattr(ours, field) == getattr(pysparks, field), field
    assert len(ours.sources) == len(pysparks.sources) == 1
    for key in OFFSETS:  # JSON text either way (the first batch's start: no offset), so a lag reads the same
        assert _parsed(getattr(ours.sources[0], key)) == _parsed(getattr(pysparks.sources[0], key)), key
    assert json.loads(ours.sources[0].endOffset)["reservoirVersion"] == 1
    for table in (source, target):
        spark.sql(f"DROP TABLE {table}")


def _seconds(line: str) -> float:
    return float(line.split()[-2])


def _parsed(offset: str) -> object:
    try:
        return json.loads(offset)
    except ValueError:
        return offset
