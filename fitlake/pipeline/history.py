"""The history loader: the calendar (date_lookup), loaded once from the landing zone or generated."""

from __future__ import annotations

import hashlib

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fitlake.config import PipelineConfig
from fitlake.contract import DATE_LOOKUP
from fitlake.streaming import (
    MergeSpec,
    list_files,
    merge_into,
    read_json_batch,
    set_table_property,
    table_property,
)
from fitlake.tables import SILVER
from fitlake.transforms import bronze

GENERATED_FROM, GENERATED_TO = "2015-01-01", "2035-12-31"
# A table property of the calendar: a digest of what it was last loaded from (the landing files' names,
# sizes and times, or the generated range). The same inputs again load nothing.
LOADED_FROM_PROPERTY = "fitlake.loaded_from"


def generated_calendar(spark: SparkSession, start: str = GENERATED_FROM, end: str = GENERATED_TO) -> DataFrame:
    """Calendar rows for every date in [start, end], in the landing files' shape."""
    days = spark.range(1).select(F.explode(F.sequence(F.to_date(F.lit(start)), F.to_date(F.lit(end)))).alias("d"))
    return days.select(
        F.date_format("d", "yyyy-MM-dd").alias("date"),
        F.weekofyear("d").alias("week"),
        F.year("d").alias("year"),
        F.month("d").alias("month"),
        F.dayofweek("d").alias("dayofweek"),
        F.dayofmonth("d").alias("dayofmonth"),
        F.dayofyear("d").alias("dayofyear"),
        F.concat_ws("-", F.year("d").cast("string"), F.weekofyear("d").cast("string")).alias("week_part"),
    )


def load_date_lookup(spark: SparkSession, config: PipelineConfig) -> str:
    """Load the landing zone's date_lookup files, or a generated calendar when there are none; idempotent
    (insert-if-absent on date). Returns where the rows came from.

    Skipped when the inputs are the ones the calendar was last loaded from: the check is one listing and one
    table property, the load a read, a count and a MERGE.
    """
    path, table = config.landing_path(DATE_LOOKUP.name), config.table(SILVER, "date_lookup")
    listing = list_files(spark, path)
    inputs = None if listing is None else _digest(listing or [(f"generated {GENERATED_FROM}..{GENERATED_TO}", 0, 0)])
    if inputs is not None and table_property(spark, table, LOADED_FROM_PROPERTY) == inputs:
        return f"unchanged since the last load ({path if listing else 'generated'})"
    try:
        rows = read_json_batch(spark, path, DATE_LOOKUP.schema)
        origin = path if not rows.isEmpty() else ""
    except AnalysisException:
        origin = ""
    if not origin:
        rows, origin = generated_calendar(spark), f"generated {GENERATED_FROM}..{GENERATED_TO}"
    merge_into(spark, bronze.date_lookup(rows), table, MergeSpec(("date",)))
    if inputs is not None:
        set_table_property(spark, table, LOADED_FROM_PROPERTY, inputs)
    return origin


def _digest(listing: list[tuple[str, int, int]]) -> str:
    return hashlib.sha256(repr(listing).encode("utf-8")).hexdigest()[:16]
