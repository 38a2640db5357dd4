"""A flow: one streaming query that maintains its table (and perhaps tables derived from it), and what it reads.
What it reads orders a batch run (a flow starts once the flows writing its input tables are done) and lets the run
tell that a flow has nothing new and leave its query unstarted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fitlake.config import PipelineConfig
from fitlake.parameters import BATCH
from fitlake.streaming import StreamTarget, Trigger, for_each_batch, read_small_file, stop_queries

Handler = Callable[[DataFrame, int], None]


@dataclass(frozen=True)
class Inputs:
    """Everything a flow reads new data from: landing folders (paths) and tables (full names). ``tables`` names
    every table of another flow that the flow reads, streamed or looked up in a batch: a batch run starts the
    flow only after those flows are done (``waits_for``)."""

    folders: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flow:
    """``name`` is the target (``layer.table``).

    ``inputs`` names what the flow reads, or None when that cannot be listed (a Kafka topic): such a flow
    always runs. ``checkpoint`` is the query's checkpoint folder. ``derived`` names further tables, as
    (layer, name), that the flow's batches write after its own, from it: they have no query of their own, and
    this flow is their one writer.
    """

    name: str
    start: Callable[[SparkSession, PipelineConfig, Trigger], StreamingQuery]
    inputs: Callable[[PipelineConfig], Inputs | None]
    checkpoint: Callable[[PipelineConfig], str]
    derived: tuple[tuple[str, str], ...] = ()

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]

    def table(self, config: PipelineConfig) -> str:
        """The full name of the table this flow maintains."""
        layer, name = self.name.split(".")
        return config.table(layer, name)

    def targets(self, config: PipelineConfig) -> dict[str, str]:
        """Every table this flow writes, as ``layer.name`` -> full name: its own first, then the derived ones."""
        derived = {f"{layer}.{name}": config.table(layer, name) for layer, name in self.derived}
        return {self.name: self.table(config), **derived}

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


def waits_for(flows: Iterable[Flow], config: PipelineConfig) -> dict[str, tuple[str, ...]]:
    """For each of ``flows``, the others among them whose tables it reads: in a batch run it starts once they are
    done, so it reads everything they wrote in the run. A flow whose inputs are not among them (a layer run
    alone) waits for none."""
    flows = list(flows)
    writer = {table: flow.name for flow in flows for table in flow.targets(config).values()}
    waits = {}
    for flow in flows:
        tables = (flow.inputs(config) or Inputs()).tables
        waits[flow.name] = tuple(writer[table] for table in tables if writer.get(table, flow.name) != flow.name)
    return waits


def flow_checkpoint(config: PipelineConfig, layer: str, name: str) -> str:
    """The checkpoint folder of the flow maintaining ``layer.name``."""
    return config.checkpoint(f"{layer}/{name}")


def table_flow(
    layer: str,
    name: str,
    source: Source,
    handler: Callable[[PipelineConfig, str], Handler],
    derived: tuple[str, ...] = (),
) -> Flow:
    """The flow maintaining ``layer.name`` (and the tables ``derived`` names in the same layer) from ``source``'s
    tables, ``handler(config, checkpoint)`` per batch."""

    def checkpoint_of(config: PipelineConfig) -> str:
        return flow_checkpoint(config, layer, name)

    def inputs(config: PipelineConfig) -> Inputs:
        return Inputs(tables=source.names(config))

    def start(spark: SparkSession, config: PipelineConfig, trigger: Trigger) -> StreamingQuery:
        checkpoint = checkpoint_of(config)
        target = StreamTarget(config.table(layer, name), checkpoint, trigger, f"{layer}.{name}")
        stream = source.open(spark, *source.names(config))
        return for_each_batch(stream, target, handler(config, checkpoint))

    derived_tables = tuple((layer, table) for table in derived)
    return Flow(f"{layer}.{name}", start=start, inputs=inputs, checkpoint=checkpoint_of, derived=derived_tables)


def batch_app_id(spark: SparkSession, checkpoint: str) -> str:
    """The id Delta's idempotent writes use for this query: its persistent id from the checkpoint.

    Taking it from the checkpoint (not a fixed name) matters: a query restarted on a fresh checkpoint
    numbers its batches from 0 again, and under a reused id Delta would skip them as already written.
    Read on every batch rather than cached: a checkpoint can be deleted and recreated while a process lives.
    """
    return json.loads(read_small_file(spark, f"{checkpoint.rstrip('/')}/metadata"))["id"]
