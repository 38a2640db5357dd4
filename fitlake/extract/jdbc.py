"""Reads from the source database through Spark's JDBC reader: the marks of new rows, and an increment's rows.

Every column is read as text (``customSchema`` STRING), never converted by the JDBC driver: a driver turns a
malformed value into a number silently (SQLite's gives 2023.0 for '2023-03-05T10:01:40Z', 0.0 for ''),
and maps some columns to FLOAT. As text the value reaches the landing file unchanged and bronze decides.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from fitlake.errors import FitlakeError
from fitlake.extract.config import SourceTable
from fitlake.extract.increment import Increment
from fitlake.extract.schema import LANDING_COLUMNS


def _read(spark: SparkSession, options: dict[str, str], query: str, columns: list[str]) -> DataFrame:
    return (
        spark.read.format("jdbc")
        .options(**options)
        .option("query", query)
        .option("customSchema", ", ".join(f"{column} STRING" for column in columns))
        .load()
    )


def _mark_value(table: SourceTable) -> Column:
    return F.expr(f"try_cast({table.mark} AS BIGINT)")


def next_high(
    spark: SparkSession, options: dict[str, str], table: SourceTable, above: int | None, max_rows: int
) -> int | None:
    """The high mark of the next increment: the ``max_rows``-th smallest mark above ``above`` (None: no rows).

    Rows whose mark is NULL or not an integer could never be delivered by a mark, so they stop the extract
    with an error rather than being skipped silently.
    """
    query = f"SELECT {table.mark} FROM {table.table}"
    if above is not None:
        query += f" WHERE {table.mark} IS NULL OR {table.mark} > {above}"
    marks = _read(spark, options, query, [table.mark])
    marks = marks.select(_mark_value(table).alias("mark"))
    unusable = marks.where(F.col("mark").isNull()).count()
    if unusable:
        raise FitlakeError(
            f"{unusable} row(s) of {table.table} have a NULL or non-integer {table.mark}, so no high-water mark "
            f"can deliver them. Fix the change column (a trigger or rowversion must set it on every insert and "
            f"update) or point extract.tables.{table.source}.mark at one."
        )
    high = marks.orderBy("mark").limit(max_rows).agg(F.max("mark")).first()[0]
    return None if high is None else int(high)


def increment_rows(
    spark: SparkSession, options: dict[str, str], table: SourceTable, increment: Increment
) -> list[tuple[str | None, ...]]:
    """The landing columns of every row in the increment, as text, ordered by mark (then by value)."""
    columns = list(LANDING_COLUMNS[table.source])
    where = f"{table.mark} <= {increment.high}"
    if increment.low is not None:
        where = f"{table.mark} > {increment.low} AND {where}"
    query = f"SELECT {', '.join(columns)}, {table.mark} FROM {table.table} WHERE {where}"
    rows = (
        _read(spark, options, query, [*columns, table.mark])
        .orderBy(_mark_value(table), *[F.col(column).asc_nulls_first() for column in columns])
        .select(*columns)
        .collect()
    )
    return [tuple(row) for row in rows]
