"""A checkpoint write interrupted by a kill (Spark's temp file left, never renamed into the log) must not stop the
flow's next start: the crash harness's SIGKILL during bronze's first offset write left ``offsets/.0.<uuid>.tmp``,
and Spark 4.1 then refused batch 0 in every later run (STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY)."""

from __future__ import annotations

import pytest

from fitlake.pipeline.checkpoints import INTERRUPTED_WRITE, drop_interrupted_writes

UUID = "0f3c9a52-7d1e-4b8a-9c61-2e5f4a7b8d90"
LEFTOVER = f".0.{UUID}.tmp"


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
    drop_interrupted_writes(spark, f"file:{checkpoint}")
    assert not any(name.startswith(".") for name in (p.name for p in (checkpoint / "offsets").iterdir()))
    _start(spark, checkpoint, source)
    assert (checkpoint / "commits" / "0").exists()


@pytest.mark.parametrize(
    ("name", "leftover"),
    [
        (f".0.{UUID}.tmp", True),
        (f"..0.{UUID}.tmp.crc", True),
        (f".metadata.{UUID}.tmp", True),
        (f"..metadata.{UUID}.tmp.crc", True),
        (f".19.compact.{UUID}.tmp", True),
        ("0", False),  # the log's own entries and their checksums stay
        (".0.crc", False),
        ("metadata", False),
        (".metadata.crc", False),
        ("19.compact", False),
        ("fitlake_seen.json", False),  # fitlake's own file beside the logs
        (f".fitlake_seen.json.{UUID}.tmp", False),
        (f".0.{UUID}.tmp.bak", False),
    ],
)
def test_only_spark_temp_files_count_as_interrupted_writes(name, leftover):
    assert bool(INTERRUPTED_WRITE.fullmatch(name)) is leftover


def test_leftovers_in_every_log_are_dropped_and_the_stream_goes_on_from_its_last_batch(spark, tmp_path):
    """A kill can land in any log's write: the metadata's, a source's log, commits. Their leftovers go too; the
    log's own files stay, so the next start reads no file twice."""
    source, checkpoint = tmp_path / "in", tmp_path / "checkpoint"
    source.mkdir()
    (source / "1.json").write_text('{"a": 1}\n')
    _start(spark, checkpoint, source)
    kept = sorted(str(p.relative_to(checkpoint)) for p in checkpoint.rglob("*") if p.is_file())
    leftovers = [
        checkpoint / f".metadata.{UUID}.tmp",
        checkpoint / f"..metadata.{UUID}.tmp.crc",
        checkpoint / "offsets" / f".1.{UUID}.tmp",
        checkpoint / "commits" / f".1.{UUID}.tmp",
        checkpoint / "sources" / "0" / f".1.{UUID}.tmp",
        checkpoint / "sources" / "0" / f"..1.{UUID}.tmp.crc",
    ]
    for leftover in leftovers:
        leftover.write_text("v1\n")
    drop_interrupted_writes(spark, f"file:{checkpoint}")
    assert sorted(str(p.relative_to(checkpoint)) for p in checkpoint.rglob("*") if p.is_file()) == kept
    (source / "2.json").write_text('{"a": 2}\n')
    _start(spark, checkpoint, source)
    assert sorted(p.name for p in (checkpoint / "commits").iterdir() if not p.name.startswith(".")) == ["0", "1"]
    assert "1.json" not in (checkpoint / "sources" / "0" / "1").read_text()  # batch 1 read only the new file
