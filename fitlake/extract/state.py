"""The extract's persisted state per source: the mark delivered so far and a planned increment, in Delta.

Why a Delta table (one per source, under the checkpoints location) rather than a JSON file: a Delta commit
is atomic on every store Spark writes to, abfss included, so a crash leaves the previous state or the new
one, never half a file; a JSON file would need an atomic rename over an existing file, which object stores
and ``dbutils.fs.mv`` do not all promise. One extract per source runs at a time (one job, one run).
"""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from fitlake.extract.increment import Increment


@dataclass(frozen=True)
class ExtractState:
    """``mark``: every row with a mark up to it has landed (None: nothing yet). ``pending``: an increment
    planned and perhaps written, but not yet confirmed; a re-run finishes it before anything else."""

    mark: int | None = None
    pending: Increment | None = None


class StateStore:
    def __init__(self, spark: SparkSession, path: str, source: str):
        self._spark = spark
        self.path = path
        self.source = source

    def load(self) -> ExtractState:
        if not DeltaTable.isDeltaTable(self._spark, self.path):
            return ExtractState()
        rows = self._spark.read.format("delta").load(self.path).collect()
        if not rows:
            return ExtractState()
        row = rows[0]
        pending = None if row.pending_high is None else Increment(self.source, row.pending_low, row.pending_high)
        return ExtractState(row.mark, pending)

    def save(self, state: ExtractState) -> ExtractState:
        """Replace the state in one Delta commit; return it."""
        pending = state.pending
        row = (
            self.source,
            state.mark,
            None if pending is None else pending.low,
            None if pending is None else pending.high,
        )
        (
            self._spark.createDataFrame([row], "source STRING, mark BIGINT, pending_low BIGINT, pending_high BIGINT")
            .selectExpr("*", "current_timestamp() AS updated_at")
            .coalesce(1)
            .write.format("delta")
            .mode("overwrite")
            .save(self.path)
        )
        return state
