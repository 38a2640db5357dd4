"""Bronze: landing records checked and stamped; what cannot be read is routed to quarantine with a reason.

Readers parse landing files with an explicit schema plus a ``_corrupt_record`` column (PERMISSIVE mode),
so a malformed line never disappears: it arrives here with its raw text and leaves as a quarantine row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from fitlake import contract
from fitlake.contract import MAX_LINE_BYTES, LandingSource
from fitlake.transforms.checks import CORRUPT, REASON, Check, not_an_epoch, not_utf8, with_reason


def read_schema(source: LandingSource) -> str:
    """The schema a source's landing files are read with: the contract's fields, then the text of a line the
    reader could not parse (PERMISSIVE mode), so that the line reaches quarantine instead of vanishing."""
    return f"{source.schema}, {CORRUPT} STRING"


def csv_with_reason(
    df: DataFrame, columns: Sequence[str], required: Sequence[str], extra: Sequence[Check] = ()
) -> DataFrame:
    """CSV rows read without a header (each file's header line is a row) checked as ``with_reason`` does, their
    header lines dropped.

    The header is the contract: a file holding no line equal to ``columns`` (no header, or one with a column
    added, removed, renamed or moved) has every row quarantined. Reading with Spark's header option instead
    would take a missing header's place from the first data row, silently dropping it, and would match
    columns by position whatever the header names, loading a file with two columns swapped into the wrong ones.
    """
    header = ",".join(columns)
    # A header as writers may write it: quoted, padded, after a byte order mark, ending in CR.
    is_header = F.regexp_replace(csv_raw(columns), r'[\s"\x{FEFF}]', "") == header
    whole_file = Window.partitionBy("source_file").rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    marked = df.withColumn("_is_header", is_header).withColumn(
        "_file_has_header", F.max(F.col("_is_header")).over(whole_file)
    )
    lacks_header = (~F.col("_file_has_header"), F.lit(f"file lacks the header {header}"))
    # The CSV reader decodes bytes that are not UTF-8 as U+FFFD without a word: a text column would load it so.
    first = (lacks_header, not_utf8(csv_raw(columns)))
    checked = with_reason(marked.where(~F.col("_is_header")), required, "CSV row", extra, first)
    return checked.drop("_is_header", "_file_has_header")


def good_rows(df: DataFrame, columns: Sequence[str]) -> DataFrame:
    """Rows without a reason, as the bronze table's columns (plus load_time and source_file)."""
    return df.where(F.col(REASON).isNull()).select(*columns, "load_time", "source_file")


def quarantined(df: DataFrame, source: str, raw: Column) -> DataFrame:
    """Rows with a reason, as bronze quarantine rows."""
    return df.where(F.col(REASON).isNotNull()).select(
        F.lit(source).alias("source"),
        raw.alias("raw"),
        F.col(REASON).alias("reason"),
        F.col("source_file"),
        F.col("load_time"),
    )


def changed_files(spark: SparkSession, source: str, changes: Sequence[tuple[str, int, int]]) -> DataFrame:
    """Quarantine rows for landing files changed after their stream read them: (path, modification time when
    read, modification time now), times in epoch milliseconds. There is no raw text: none of it was read."""
    rows = [(path, changed_reason(read, now)) for path, read, now in changes]
    return spark.createDataFrame(rows, "source_file STRING, reason STRING").select(
        F.lit(source).alias("source"),
        F.lit(None).cast("string").alias("raw"),
        "reason",
        "source_file",
        F.current_timestamp().alias("load_time"),
    )


def changed_reason(read: int, now: int) -> str:
    """Why a landing file changed after its stream read it is quarantined (times in epoch milliseconds)."""

    def at(millis: int) -> str:
        return datetime.fromtimestamp(millis / 1000, timezone.utc).isoformat(timespec="milliseconds")

    return (
        f"changed after its stream read it (modified {at(read)}, now {at(now)}): a file is read once, so the change "
        "is not loaded; land the new content under a new name"
    )


def csv_raw(columns: Sequence[str]) -> Column:
    """The raw text of a CSV row: the corrupt-record text when Spark kept it, else the fields rejoined."""
    rejoined = F.concat_ws(",", *[F.coalesce(F.col(c).cast("string"), F.lit("")) for c in columns])
    return F.coalesce(F.col(CORRUPT), rejoined)


def kafka_raw() -> Column:
    fields = F.to_json(F.struct(*contract.KAFKA_MULTIPLEX.columns))
    return F.coalesce(F.col(CORRUPT), fields)


def kafka_with_reason(df: DataFrame) -> DataFrame:
    unknown_topic = (~F.col("topic").isin(*contract.TOPICS), F.concat(F.lit("unknown topic "), F.col("topic")))
    timestamp = not_an_epoch("timestamp", contract.EPOCH_MILLIS_BELOW)
    # A line cut at MAX_LINE_BYTES by the reader; a few bytes short of it when the cut split a UTF-8 character.
    cut = (F.octet_length(CORRUPT) >= MAX_LINE_BYTES - 3, F.lit(f"line longer than {MAX_LINE_BYTES} bytes, cut"))
    # Checked on the corrupt text only: the JSON parser refuses a line that is not UTF-8, so a good record is.
    first = (cut, not_utf8(F.col(CORRUPT)))
    required = contract.KAFKA_MULTIPLEX.required
    return with_reason(df, required, "Kafka record", extra=(unknown_topic, timestamp), first=first)


def kafka_source_records(df: DataFrame) -> DataFrame:
    """Records from Structured Streaming's Kafka source in the shape the landing files give.

    key and value arrive as bytes and become UTF-8 strings (a value that is not UTF-8 text fails to parse in
    silver and is quarantined there); the record's timestamp becomes epoch milliseconds (BIGINT), as the
    files carry it. ``source_file`` says where the record came from: ``kafka://<topic>/<partition>/<offset>``.
    A Kafka record always has a topic, partition and offset, so only ``value`` (null for a tombstone) and the
    timestamp (-1 or absurd when a producer set none or a wrong one) can send it to quarantine.
    """
    position = F.concat_ws("/", "topic", F.col("partition").cast("string"), F.col("offset").cast("string"))
    return df.select(
        F.col("key").cast("string").alias("key"),
        F.col("value").cast("string").alias("value"),
        "topic",
        "partition",
        "offset",
        F.unix_millis("timestamp").alias("timestamp"),
        F.lit(None).cast("string").alias(CORRUPT),
        F.concat(F.lit("kafka://"), position).alias("source_file"),
        "load_time",
    )


def epoch_seconds(column: str) -> Column:
    """Kafka's timestamp in epoch seconds (DOUBLE), whether it landed as milliseconds or seconds."""
    value = F.col(column).cast("double")
    return F.when(value < contract.EPOCH_SECONDS_BELOW, value).otherwise(value / 1000)


def kafka_records(df: DataFrame, date_lookup: DataFrame) -> DataFrame:
    """Good Kafka records with the record's UTC ``date`` and its ``week_part`` from the calendar.

    A date the calendar lacks still gets a week_part (year-ISO week) rather than losing the record.
    """
    dated = df.withColumn("date", F.to_date(F.timestamp_seconds(epoch_seconds("timestamp"))))
    calendar = F.broadcast(date_lookup.select("date", F.col("week_part").alias("_lookup_week_part")))
    fallback = F.concat_ws("-", F.year("date").cast("string"), F.weekofyear("date").cast("string"))
    return (
        dated.join(calendar, on="date", how="left")
        .withColumn("week_part", F.coalesce(F.col("_lookup_week_part"), fallback))
        .select(
            "key",
            "value",
            "topic",
            "partition",
            "offset",
            "timestamp",
            "date",
            "week_part",
            "load_time",
            "source_file",
        )
    )


def date_lookup(df: DataFrame) -> DataFrame:
    """Calendar rows with ``date`` as a DATE."""
    return df.select(
        F.to_date("date", "yyyy-MM-dd").alias("date"),
        "week",
        "year",
        "month",
        "dayofweek",
        "dayofmonth",
        "dayofyear",
        "week_part",
    )
