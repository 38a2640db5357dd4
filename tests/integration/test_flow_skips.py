"""A batch run leaves a flow unstarted only when its query would have found nothing new.

Skipping (``fitlake.pipeline.seen``) changes how "every batch run processes everything landed" is kept: a
flow is trusted to be up to date when its inputs and its checkpoint are as its last completed run left them.
These tests prove the skip never hides work: new files reach exactly the flows they feed and then gold, a
batch a crash left uncommitted is replayed exactly once, and a replaced checkpoint is not taken for the old.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lake import SETS, assert_as_expected, fresh_lake, land

from fitlake import pipeline
from fitlake.contract import GYM_LOGINS, SOURCE_NAMES
from fitlake.pipeline.checkpoints import CheckpointError
from fitlake.tables import BRONZE, GOLD, SILVER

ALL_FLOWS = [flow.name for flow in pipeline.FLOWS]
BATCH_LINE = re.compile(r"^\s+(\S+)\s+batch\s+\d+\s+[\d,]+ rows read\s+([\d,]+) written\s+[\d.]+ s$", re.MULTILINE)


def _ran(summary: pipeline.RunSummary) -> set[str]:
    return set(ALL_FLOWS) - set(summary.skipped)


def _written_per_batch(printed: str) -> dict[str, list[int]]:
    """The rows written by each micro-batch a run printed a line for, per flow."""
    batches: dict[str, list[int]] = {}
    for flow, written in BATCH_LINE.findall(printed):
        batches.setdefault(flow, []).append(int(written.replace(",", "")))
    return batches


def _checkpoint(config, name: str) -> Path:  # noqa: ANN001 - a PipelineConfig
    flow = next(flow for flow in pipeline.FLOWS if flow.name == name)
    return Path(flow.checkpoint(config).removeprefix("file:"))


def _processed_lake(spark, root: Path):  # noqa: ANN001, ANN202 - the spark fixture; a config
    config = fresh_lake(spark, root, SETS[0])
    land(config, SETS[0])
    assert pipeline.run(spark, config).skipped == []  # a first run has no record: every flow runs
    assert_as_expected(spark, config, 1)
    return config


@pytest.fixture(scope="module")
def set1_lake(spark, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a config
    """Set 1 landed and run, shared by the tests that leave the lake as they found it: processed, every batch
    committed. (The test that lands more builds its own lake, last in this module: fresh_lake drops all.)"""
    return _processed_lake(spark, tmp_path_factory.mktemp("set1-lake"))


def test_a_run_with_nothing_new_starts_no_query_and_changes_nothing(spark, set1_lake):
    config = set1_lake
    again = pipeline.run(spark, config)
    assert again.skipped == ALL_FLOWS and again.flow_seconds == {}
    assert all(written == {"inserted": 0, "updated": 0, "deleted": 0} for written in again.tables.values())
    assert_as_expected(spark, config, 1)  # as the set 1 lake was made: the tables are unchanged


def test_a_batch_a_crash_left_uncommitted_is_replayed_once_not_skipped(spark, set1_lake):
    config = set1_lake
    bronze_rows = spark.table(config.table(BRONZE, "kafka_multiplex_bz")).count()
    # A crash after a batch's writes but before its commit file: what the checkpoint then looks like.
    for name in (f"{BRONZE}.kafka_multiplex_bz", f"{SILVER}.heart_rate"):
        commits = _checkpoint(config, name) / "commits"
        last = max(int(path.name) for path in commits.iterdir() if path.name.isdigit())
        for written in (commits / str(last), commits / f".{last}.crc"):  # the commit and its checksum file
            written.unlink(missing_ok=True)
    ran = _ran(pipeline.run(spark, config))
    assert {f"{BRONZE}.kafka_multiplex_bz", f"{SILVER}.heart_rate"} <= ran
    assert spark.table(config.table(BRONZE, "kafka_multiplex_bz")).count() == bronze_rows  # replayed, not doubled
    assert_as_expected(spark, config, 1)
    assert pipeline.run(spark, config).skipped == ALL_FLOWS  # committed now: the next run skips again


def test_a_replaced_checkpoint_is_not_taken_for_the_one_it_replaces(spark, set1_lake):
    config = set1_lake
    gold = f"{GOLD}.workout_bpm_summary"
    checkpoint = _checkpoint(config, gold)
    record = (checkpoint / pipeline.seen.RECORD).read_bytes()
    for path in sorted(checkpoint.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    checkpoint.mkdir(exist_ok=True)
    (checkpoint / pipeline.seen.RECORD).write_bytes(record)  # the old record survives; the query id does not
    # Not skipped, and not started afresh either (test_checkpoint_recovery.py): refused until rebuilt.
    with pytest.raises(CheckpointError, match=f"The checkpoint of {gold} .* is missing"):
        pipeline.run(spark, config)
    pipeline.recover(spark, config, gold)
    assert gold in _ran(pipeline.run(spark, config))  # a new query, whose record is not the old one
    assert_as_expected(spark, config, 1)


def test_new_files_run_exactly_the_flows_they_feed_and_reach_gold(spark, tmp_path, capsys):
    config = _processed_lake(spark, tmp_path)
    assert set(_written_per_batch(capsys.readouterr().out)) == set(ALL_FLOWS)  # a first run: every flow's batches
    land(config, SETS[1], sources=("gym_logins",))
    summary = pipeline.run(spark, config)
    assert _ran(summary) == {f"{BRONZE}.gym_logins_bz", f"{SILVER}.gym_logs"}
    # The progress shows exactly the flows that ran, each batch as it ended, with the rows it wrote: together
    # what the summary read from the Delta log after the run.
    printed = capsys.readouterr().out
    batches = _written_per_batch(printed)
    assert set(batches) == _ran(summary)
    assert {flow: sum(rows) for flow, rows in batches.items()} == {
        flow: sum(summary.tables[flow].values()) for flow in batches
    }
    assert f"start 1 flow ({BRONZE}.gym_logins_bz), 2 skipped (nothing new: " in printed
    assert f"start 0 flows, 1 skipped (nothing new: {GOLD}.workout_bpm_summary)" in printed
    # The rest of set 2 (a copy of gym_logins again would be a rewritten file: its flow would rightly run).
    land(config, SETS[1], sources=tuple(source for source in SOURCE_NAMES if source != GYM_LOGINS.name))
    ran = _ran(pipeline.run(spark, config))
    assert ran == set(ALL_FLOWS) - {f"{BRONZE}.gym_logins_bz", f"{SILVER}.gym_logs"}
    # Landed in two parts, skipping in between, the lake ends holding what sets 1 and 2 must give.
    assert_as_expected(spark, config, 2)
