"""Streaming reads, writes, triggers, checkpoints and MERGEs: the one place fitlake does streaming I/O.

A writer takes a small frozen ``StreamTarget`` (table, checkpoint, trigger) and returns the
``StreamingQuery``. MERGEs are idempotent by construction: each micro-batch is first reduced to one row per
key, then rows are inserted when absent and updated only when the source row is newer, so replaying a
batch after a crash changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

BATCH = "batch"
CONTINUOUS = "continuous"


@dataclass(frozen=True)
class Trigger:
    """``batch``: process what is available, then stop (availableNow). ``continuous``: keep running."""

    mode: str = BATCH
    processing_time: str = "10 seconds"

    def __post_init__(self) -> None:
        if self.mode not in (BATCH, CONTINUOUS):
            raise ValueError(f"Trigger mode must be {BATCH!r} or {CONTINUOUS!r}, got {self.mode!r}.")

    def options(self) -> dict[str, object]:
        return {"availableNow": True} if self.mode == BATCH else {"processingTime": self.processing_time}


@dataclass(frozen=True)
class StreamTarget:
    table: str
    checkpoint: str
    trigger: Trigger = Trigger()
    query_name: str | None = None


@dataclass(frozen=True)
class MergeSpec:
    """How a micro-batch lands in a table: one row per ``keys``; the row with the greatest ``order_by`` wins."""

    keys: tuple[str, ...]
    order_by: str


def latest_per_key(df: DataFrame, keys: Sequence[str], order_by: str) -> DataFrame:
    """One row per key: the one with the greatest ``order_by`` (ties broken deterministically)."""
    window = Window.partitionBy(*keys).orderBy(F.col(order_by).desc_nulls_last(), *[F.col(c) for c in df.columns])
    return df.withColumn("_rank", F.row_number().over(window)).where(F.col("_rank") == 1).drop("_rank")


def merge_into(spark: SparkSession, updates: DataFrame, table: str, spec: MergeSpec) -> None:
    """Idempotent upsert of ``updates`` into ``table``: insert if absent, update only when newer."""
    source = latest_per_key(updates, spec.keys, spec.order_by)
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in spec.keys)
    (
        DeltaTable.forName(spark, table)
        .alias("t")
        .merge(source.alias("s"), on)
        .whenMatchedUpdateAll(condition=f"s.`{spec.order_by}` > t.`{spec.order_by}`")
        .whenNotMatchedInsertAll()
        .execute()
    )


def merge_stream(stream: DataFrame, target: StreamTarget, spec: MergeSpec) -> StreamingQuery:
    """Stream ``stream`` into ``target.table`` with ``merge_into`` per micro-batch."""

    def upsert(batch: DataFrame, _batch_id: int) -> None:
        merge_into(batch.sparkSession, batch, target.table, spec)

    return _start(stream.writeStream.foreachBatch(upsert), target)


def append_stream(stream: DataFrame, target: StreamTarget) -> StreamingQuery:
    """Append ``stream`` to ``target.table`` (exactly once through the checkpoint)."""
    return _start(stream.writeStream.format("delta").outputMode("append"), target, to_table=True)


def _start(writer, target: StreamTarget, to_table: bool = False) -> StreamingQuery:  # noqa: ANN001
    writer = writer.option("checkpointLocation", target.checkpoint).trigger(**target.trigger.options())
    if target.query_name:
        writer = writer.queryName(target.query_name)
    return writer.toTable(target.table) if to_table else writer.start()


def read_json_files(spark: SparkSession, path: str, schema: str, max_files_per_trigger: int | None = None) -> DataFrame:
    """A stream of JSON-lines files under ``path`` with an explicit schema (new files only, each once)."""
    reader = spark.readStream.format("json").schema(schema)
    if max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", max_files_per_trigger)
    return reader.load(path)
