"""A checkpoint write interrupted by a kill (Spark's temp file left, never renamed into the log) must not stop the
flow's next start: the crash harness's SIGKILL during bronze's first offset write left ``offsets/.0.<uuid>.tmp``,
and Spark 4.1 then refused batch 0 in every later run (STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY)."""

from __future__ import annotations

import pytest

from fitlake.pipeline.checkpoints import _drop_interrupted_writes

LEFTOVER = ".0.d262d598-4770-4f1b-9686-9e9e392206d1.tmp"


def _start(spark, checkpoint, source):  # noqa: ANN001, ANN202
    stream = spark.readStream.format("json").schema("a BIGINT").load(str(source))
    query = stream.writeStream.format("noop").option("checkpointLocation", str(checkpoint)).trigger(availableNow=True)
    query.start().awaitTermination()


def test_a_temp_file_left_by_a_killed_offset_write_is_dropped_and_the_stream_starts(spark, tmp_path):
    source, checkpoint = tmp_path / "in", tmp_path / "checkpoint"
    source.mkdir()
    (source / "1.json").write_text('{"a": 1}\n')
    _start(spark, checkpoint, source)  # a real checkpoint: metadata, offsets/0, commits/0
    for log in ("offsets", "commits"):
        for entry in (checkpoint / log).iterdir():
            entry.unlink()
    (checkpoint / "offsets" / LEFTOVER).write_text("v1\n")
    (checkpoint / "offsets" / f".{LEFTOVER}.crc").write_bytes(b"")
    with pytest.raises(Exception, match="STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY"):
        _start(spark, checkpoint, source)
    _drop_interrupted_writes(spark, f"file:{checkpoint}")
    assert not any(name.startswith(".") for name in (p.name for p in (checkpoint / "offsets").iterdir()))
    _start(spark, checkpoint, source)
    assert (checkpoint / "commits" / "0").exists()
