"""A flow: one streaming query that maintains one table, and the stage it runs in during a batch run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from fitlake.config import PipelineConfig
from fitlake.streaming import Trigger, read_small_file


@dataclass(frozen=True)
class Flow:
    """``name`` is the target (``layer.table``); in batch runs, stage N starts when stage N-1 is done."""

    name: str
    stage: int
    start: Callable[[SparkSession, PipelineConfig, Trigger], StreamingQuery]

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]


def batch_app_id(spark: SparkSession, checkpoint: str) -> str:
    """The id Delta's idempotent writes use for this query: its persistent id from the checkpoint.

    Taking it from the checkpoint (not a fixed name) matters: a query restarted on a fresh checkpoint
    numbers its batches from 0 again, and under a reused id Delta would skip them as already written.
    Read on every batch rather than cached: a checkpoint can be deleted and recreated while a process lives.
    """
    return json.loads(read_small_file(spark, f"{checkpoint.rstrip('/')}/metadata"))["id"]
