"""Checks a pipeline's tables against a sample set's manifest (row counts and a few exact values) and against
every silver and gold table's full expected rows (``compare_tables``).

Both come from the generator's own ground truth, never from the pipeline's code, so a check that passes
means the pipeline computed what the generator knows to be true.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fitlake.config import PipelineConfig
from fitlake.sample.rows import ExpectedTable, expected_dir, read_expected

FLOAT_TOLERANCE = 1e-9
QUARANTINE = "bronze.quarantine"
SILVER_QUARANTINE = "silver.quarantine"
# Doubles are compared rounded to this many decimals, on both sides: an average's last bit may move with the
# summation order, and a rounded minute count is a decimal the expected side wrote as a shortest float text.
# Timestamps, dates, whole numbers and text are compared exactly.
DOUBLE_DECIMALS = 9
EXAMPLES = 5


@dataclass(frozen=True)
class Mismatch:
    table: str
    what: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.table}: {self.what}: expected {self.expected!r}, actual {self.actual!r}"


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def over_kafka(manifest: dict[str, Any], set_dirs: list[Path]) -> dict[str, Any]:
    """The manifest as it holds when the sets' Kafka records came over a broker (bronze_source = kafka).

    A line of a set's Kafka files that is not a publishable record (fitlake.kafka.producer reports each one)
    is a bronze quarantine row in the file mode but never reaches bronze over Kafka; everything else is
    the same.
    """
    from fitlake.kafka.producer import read_set

    unpublished = sum(len(read_set(set_dir)[1]) for set_dir in set_dirs)
    tables = dict(manifest.get("tables", {}))
    tables[QUARANTINE] = tables.get(QUARANTINE, 0) - unpublished
    return {**manifest, "tables": tables}


def check(spark: SparkSession, config: PipelineConfig, manifest: dict[str, Any]) -> list[Mismatch]:
    """Every expected row count and value that the tables do not match (empty when all hold)."""
    mismatches = []
    for name, expected in manifest.get("tables", {}).items():
        actual = _table(spark, config, name).count()
        if actual != expected:
            mismatches.append(Mismatch(name, "row count", expected, actual))
    for value in manifest.get("values", []):
        mismatch = _check_value(spark, config, value)
        if mismatch is not None:
            mismatches.append(mismatch)
    return mismatches


def _table(spark: SparkSession, config: PipelineConfig, name: str):  # noqa: ANN202 - a DataFrame
    schema, table = name.split(".")
    return spark.table(config.table(schema, table))


def _check_value(spark: SparkSession, config: PipelineConfig, value: dict[str, Any]) -> Mismatch | None:
    rows = _table(spark, config, value["table"])
    for column, wanted in value.get("where", {}).items():
        rows = rows.where(F.col(column) == F.lit(wanted))
    what = f"{value['column']} where {value.get('where', {})}"
    if value["column"] == "count":
        actual = rows.count()
        return None if actual == value["expected"] else Mismatch(value["table"], what, value["expected"], actual)
    found = rows.select(F.col(value["column"]).cast("string")).collect()
    if len(found) != 1:
        return Mismatch(value["table"], what, value["expected"], f"{len(found)} rows")
    actual = found[0][0]
    return None if _same(value["expected"], actual) else Mismatch(value["table"], what, value["expected"], actual)


def _same(expected: Any, actual: str | None) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return math.isclose(
            float(actual), float(expected), rel_tol=0, abs_tol=FLOAT_TOLERANCE * max(1.0, abs(expected))
        )
    return str(expected) == actual


@dataclass(frozen=True)
class TableComparison:
    """One table against its expected rows, compared as multisets: rows expected and found, rows missing from
    the table and extra in it (each counted with its multiplicity), and a few of each (sorted)."""

    table: str
    expected_rows: int
    actual_rows: int
    missing: int
    extra: int
    missing_examples: tuple[dict, ...] = ()
    extra_examples: tuple[dict, ...] = ()

    @property
    def equal(self) -> bool:
        return self.missing == 0 and self.extra == 0

    def __str__(self) -> str:
        verdict = "equal" if self.equal else f"{self.missing} missing, {self.extra} extra"
        lines = [f"{self.table}: {self.expected_rows} rows expected, {self.actual_rows} found: {verdict}"]
        lines += [f"  missing: {row}" for row in self.missing_examples]
        lines += [f"  extra:   {row}" for row in self.extra_examples]
        return "\n".join(lines)


def load_expected(sets_dir: Path, upto_set: int) -> dict[str, ExpectedTable]:
    """Every silver and gold table's expected rows after sets 1..``upto_set`` (beside the manifest)."""
    return read_expected(expected_dir(sets_dir, upto_set))


def expected_over_kafka(expected: dict[str, ExpectedTable]) -> dict[str, ExpectedTable]:
    """The expected rows when the Kafka records came over a broker: the broker assigns new offsets (see
    ``fitlake.kafka.producer``), so silver.quarantine's ``offset`` is not known in advance. Everything else is
    the same as in the file mode: the records that never reach bronze over Kafka are not Kafka records at all."""
    return {name: table.without("offset") if name == SILVER_QUARANTINE else table for name, table in expected.items()}


def compare_tables(
    spark: SparkSession, config: PipelineConfig, expected: dict[str, ExpectedTable]
) -> list[TableComparison]:
    """Each table of ``expected`` in the environment against its expected rows, in name order."""
    comparisons = []
    for name, table in sorted(expected.items()):
        actual = _table(spark, config, name)
        comparisons.append(compare(name, expected_frame(spark, table, actual.schema), actual))
    return comparisons


def expected_frame(spark: SparkSession, table: ExpectedTable, schema: T.StructType) -> DataFrame:
    """The expected rows as a DataFrame of ``schema``'s types: each value goes in as text (a timestamp's UTC
    text, a double's shortest round-trip text) and is cast, so nothing depends on Python's time zone."""
    types = {field.name: field.dataType for field in schema.fields}
    as_text = T.StructType([T.StructField(column, T.StringType()) for column in table.columns])
    rows = [tuple(None if v is None else _text(v) for v in row) for row in table.rows]
    frame = spark.createDataFrame(rows, as_text)
    return frame.select(*[F.col(column).cast(types[column]).alias(column) for column in table.columns])


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def compare(table: str, expected: DataFrame, actual: DataFrame, examples: int = EXAMPLES) -> TableComparison:
    """``actual`` against ``expected`` on ``expected``'s columns, as multisets (a duplicate row is extra), with
    doubles rounded to ``DOUBLE_DECIMALS``; one Spark job."""
    columns = expected.columns
    side = F.col("_side")
    both = (
        _normalized(expected, columns)
        .withColumn("_side", F.lit(-1))
        .unionByName(_normalized(actual, columns).withColumn("_side", F.lit(1)))
    )
    counted = both.groupBy(*columns).agg(F.count_if(side < 0).alias("_expected"), F.count_if(side > 0).alias("_actual"))
    short = F.col("_expected") - F.col("_actual")
    row = F.struct(*columns)
    totals = counted.agg(
        F.sum("_expected").alias("expected"),
        F.sum("_actual").alias("actual"),
        F.sum(F.greatest(short, F.lit(0))).alias("missing"),
        F.sum(F.greatest(-short, F.lit(0))).alias("extra"),
        F.slice(F.sort_array(F.collect_list(F.when(short > 0, row))), 1, examples).alias("missing_examples"),
        F.slice(F.sort_array(F.collect_list(F.when(short < 0, row))), 1, examples).alias("extra_examples"),
    ).first()
    return TableComparison(
        table,
        totals["expected"] or 0,
        totals["actual"] or 0,
        totals["missing"] or 0,
        totals["extra"] or 0,
        tuple(r.asDict() for r in totals["missing_examples"]),
        tuple(r.asDict() for r in totals["extra_examples"]),
    )


def _normalized(df: DataFrame, columns: list[str]) -> DataFrame:
    types = {field.name: field.dataType for field in df.schema.fields}
    rounded = (T.DoubleType, T.FloatType)
    return df.select(
        *[F.round(F.col(c), DOUBLE_DECIMALS).alias(c) if isinstance(types[c], rounded) else F.col(c) for c in columns]
    )
