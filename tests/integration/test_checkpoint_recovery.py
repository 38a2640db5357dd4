"""A lost or damaged checkpoint stops the run, naming the flow and the command that rebuilds it; the rebuild
(``fitlake recover``) loses and doubles nothing.

Proves the operator-mistake rule of docs/pipeline.md ("Lost or damaged checkpoints"): started afresh, a flow
would read all its input again and append every row twice (bronze, the quarantines), so the run refuses;
rebuilt, every table is as before, and the flow goes on with new input from there.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lake import SETS, assert_as_expected, fresh_lake, land

from fitlake import pipeline
from fitlake.pipeline.checkpoints import LOST_SUFFIX, CheckpointError
from fitlake.tables import BRONZE, SILVER

pytestmark = pytest.mark.integration

KAFKA_BRONZE, HEART_RATE = f"{BRONZE}.kafka_multiplex_bz", f"{SILVER}.heart_rate"


def _checkpoint(config, name: str) -> Path:  # noqa: ANN001 - a PipelineConfig
    flow = next(flow for flow in pipeline.FLOWS if flow.name == name)
    return Path(flow.checkpoint(config).removeprefix("file:"))


def _counts(spark, config) -> dict[str, int]:  # noqa: ANN001
    names = [("bronze", "kafka_multiplex_bz"), ("bronze", "quarantine"), ("silver", "quarantine")]
    return {f"{layer}.{name}": spark.table(config.table(layer, name)).count() for layer, name in names}


def test_a_deleted_and_a_damaged_checkpoint_are_refused_then_rebuilt_without_loss_or_duplicates(spark, tmp_path):
    config = fresh_lake(spark, tmp_path, SETS[0])
    land(config, SETS[0])
    pipeline.run(spark, config)
    counts = _counts(spark, config)
    assert all(counts.values())  # both quarantines hold rows: a re-read without care would double them

    # Deleted: bronze's Kafka-record flow (appends, and quarantines malformed lines).
    bronze = _checkpoint(config, KAFKA_BRONZE)
    subprocess.run(["rm", "-rf", str(bronze)], check=True)
    with pytest.raises(CheckpointError, match=rf"checkpoint of {KAFKA_BRONZE} .* is missing.*fitlake recover"):
        pipeline.run(spark, config)
    # Damaged: silver heart_rate's newest offsets entry torn (it parses payloads, and quarantines bad ones).
    offsets = _checkpoint(config, HEART_RATE) / "offsets"
    newest = max((path for path in offsets.iterdir() if path.name.isdigit()), key=lambda path: int(path.name))
    newest.write_text('v1\n{"batchWatermarkMs":0,"batchTimestampMs":17')
    assert pipeline.recover(spark, config, KAFKA_BRONZE) == ""  # what `fitlake recover` calls; nothing to keep
    with pytest.raises(CheckpointError, match=rf"checkpoint of {HEART_RATE} .* is damaged: offsets/\d+ .*recover"):
        pipeline.run(spark, config)
    moved = pipeline.recover(spark, config, HEART_RATE)
    damaged = _checkpoint(config, HEART_RATE)
    assert moved.startswith(f"file:{damaged}{LOST_SUFFIX}") and Path(moved.removeprefix("file:")).is_dir()  # kept

    assert _counts(spark, config) == counts  # nothing appended twice
    assert_as_expected(spark, config, 1)
    land(config, SETS[1])  # the rebuilt checkpoints go on from where they stand
    pipeline.run(spark, config)
    assert_as_expected(spark, config, 2)
