"""The foundation demo (``notebooks/examples/foundation_demo.py``): a Delta table that is created, MERGEd into
and streamed into. Not part of the pipeline: it shows that a notebook gets real Delta tables, MERGE and
Structured Streaming, on Databricks or on the local runtime alike. The rows are heart-rate readings keyed by
(device_id, time); a reading re-sent with a later ``received`` replaces the stored one, an older one does not.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fitlake.streaming import MergeSpec

READING_SCHEMA = "device_id BIGINT, time DOUBLE, heartrate DOUBLE, received DOUBLE"
TABLE_COLUMNS = "device_id BIGINT, time TIMESTAMP, heartrate DOUBLE, received TIMESTAMP"
READING_KEY = MergeSpec(keys=("device_id", "time"), order_by="received")

# (device_id, time, heartrate, received): epoch seconds. Batch 2 repeats one reading, corrects another
# with a later `received`, and re-sends a stale value that must not win.
_BATCHES = {
    1: [
        (1, 1700000000.0, 61.0, 1700000001.0),
        (1, 1700000060.0, 64.0, 1700000061.0),
        (2, 1700000000.0, 88.0, 1700000002.0),
    ],
    2: [
        (1, 1700000060.0, 64.0, 1700000061.0),
        (2, 1700000000.0, 90.0, 1700000100.0),
        (1, 1700000000.0, 10.0, 1600000000.0),
        (3, 1700000120.0, 120.5, 1700000121.0),
    ],
}


def raw_readings(spark: SparkSession, batch: int) -> DataFrame:
    """Batch ``batch`` (1 or 2) of demo readings as they arrive: epoch seconds as DOUBLE."""
    return spark.createDataFrame(_BATCHES[batch], READING_SCHEMA)


def readings(raw: DataFrame) -> DataFrame:
    """Raw readings with epoch seconds turned into timestamps (full precision: DOUBLE, never FLOAT)."""
    return raw.select(
        F.col("device_id"),
        F.timestamp_seconds("time").alias("time"),
        F.col("heartrate"),
        F.timestamp_seconds("received").alias("received"),
    )


def create_table(spark: SparkSession, table: str) -> None:
    spark.sql(f"CREATE TABLE IF NOT EXISTS {table} ({TABLE_COLUMNS}) USING DELTA")
