"""A flow: one streaming query that maintains one table, the stage it runs in during a batch run, and what it
reads (so a batch run can tell that a flow has nothing new and leave its query unstarted)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fitlake.config import PipelineConfig
from fitlake.parameters import BATCH
from fitlake.streaming import StreamTarget, Trigger, for_each_batch, read_small_file, stop_queries

Handler = Callable[[DataFrame, int], None]


@dataclass(frozen=True)
class Inputs:
    """Everything a flow's stream reads new data from: landing folders (paths) and tables (full names)."""

    folders: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flow:
    """``name`` is the target (``layer.table``); in batch runs, stage N starts when stage N-1 is done.

    ``inputs`` names what the stream reads, or None when that cannot be listed (a Kafka topic): such a flow
    always runs. ``checkpoint`` is the query's checkpoint folder.
    """

    name: str
    stage: int
    start: Callable[[SparkSession, PipelineConfig, Trigger], StreamingQuery]
    inputs: Callable[[PipelineConfig], Inputs | None]
    checkpoint: Callable[[PipelineConfig], str]

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]

    def run_once(self, spark: SparkSession, config: PipelineConfig) -> StreamingQuery:
        """Start this flow alone on the batch trigger and wait for its end (raising its failure); the ended query."""
        query = self.start(spark, config, Trigger(BATCH))
        try:
            query.awaitTermination()
        finally:
            stop_queries([query])
        return query


@dataclass(frozen=True)
class Source:
    """The tables a flow streams from, as (layer, name), and ``open(streams, *full_names)``, which turns them into
    the flow's one stream (``streams`` opens each table's stream). Naming them once
    here is what lets a batch run see that none of them changed."""

    tables: tuple[tuple[str, str], ...]
    open: Callable[..., DataFrame]

    def names(self, config: PipelineConfig) -> tuple[str, ...]:
        return tuple(config.table(layer, name) for layer, name in self.tables)


def table_flow(
    layer: str, name: str, stage: int, source: Source, handler: Callable[[PipelineConfig, str], Handler]
) -> Flow:
    """The flow maintaining ``layer.name`` from ``source``'s tables, ``handler(config, checkpoint)`` per batch."""

    def checkpoint_of(config: PipelineConfig) -> str:
        return config.checkpoint(f"{layer}/{name}")

    def inputs(config: PipelineConfig) -> Inputs:
        return Inputs(tables=source.names(config))

    def start(spark: SparkSession, config: PipelineConfig, trigger: Trigger) -> StreamingQuery:
        checkpoint = checkpoint_of(config)
        target = StreamTarget(config.table(layer, name), checkpoint, trigger, f"{layer}.{name}")
        stream = source.open(spark, *source.names(config))
        return for_each_batch(stream, target, handler(config, checkpoint))

    return Flow(f"{layer}.{name}", stage=stage, start=start, inputs=inputs, checkpoint=checkpoint_of)


def batch_app_id(spark: SparkSession, checkpoint: str) -> str:
    """The id Delta's idempotent writes use for this query: its persistent id from the checkpoint.

    Taking it from the checkpoint (not a fixed name) matters: a query restarted on a fresh checkpoint
    numbers its batches from 0 again, and under a reused id Delta would skip them as already written.
    Read on every batch rather than cached: a checkpoint can be deleted and recreated while a process lives.
    """
    return json.loads(read_small_file(spark, f"{checkpoint.rstrip('/')}/metadata"))["id"]
