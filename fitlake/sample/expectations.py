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

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fitlake.config import PipelineConfig
from fitlake.sample.rows import ExpectedTable, read_expected
from fitlake.sample.spec import expected_folder

FLOAT_TOLERANCE = 1e-9
QUARANTINE = "bronze.quarantine"
SILVER_QUARANTINE = "silver.quarantine"
# Doubles are compared rounded to this many decimals, on both sides: an average's last bit may move with the
# summation order, and a rounded minute count is a decimal the expected side wrote as a shortest float text.
# Timestamps, dates, whole numbers and text are compared exactly.
DOUBLE_DECIMALS = 9
EXACT_TIMESTAMP = "yyyy-MM-dd HH:mm:ss.SSSSSS"
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

    A line of a set's Kafka files that is not a publishable record (fitlake.sample.kafka_producer reports each one)
    is a bronze quarantine row in the file mode but never reaches bronze over Kafka; everything else is
    the same.
    """
    from fitlake.sample.kafka_producer import read_set

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
    the table and extra in it (each counted with its multiplicity), and a few of each (as compared: doubles
    rounded, timestamps as UTC text to the microsecond; sorted by their JSON text)."""

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
    return read_expected(expected_folder(sets_dir, upto_set))


def expected_over_kafka(expected: dict[str, ExpectedTable]) -> dict[str, ExpectedTable]:
    """The expected rows when the Kafka records came over a broker: the broker assigns new offsets (see
    ``fitlake.sample.kafka_producer``), so silver.quarantine's ``offset`` is not known in advance. Everything else is
    the same as in the file mode: the records that never reach bronze over Kafka are not Kafka records at all."""
    return {name: table.without("offset") if name == SILVER_QUARANTINE else table for name, table in expected.items()}


def compare_tables(
    spark: SparkSession, config: PipelineConfig, expected: dict[str, ExpectedTable]
) -> list[TableComparison]:
    """Each table of ``expected`` in the environment against its expected rows, in name order."""
    frames = {}
    for name, table in expected.items():
        actual = _table(spark, config, name)
        frames[name] = (expected_frame(spark, table, actual.schema), actual)
    return compare(frames)


def not_compared_in_full(manifest: dict[str, Any], expected: dict[str, ExpectedTable]) -> dict[str, Any]:
    """The manifest less the counts and values of the tables ``expected`` holds in full (the bronze counts)."""
    tables = {name: count for name, count in manifest.get("tables", {}).items() if name not in expected}
    values = [value for value in manifest.get("values", []) if value["table"] not in expected]
    return {**manifest, "tables": tables, "values": values}


def expected_frame(spark: SparkSession, table: ExpectedTable, schema: T.StructType) -> DataFrame:
    """The expected rows as a DataFrame of ``schema``'s types: each value goes in as text (a timestamp's UTC
    text, a double's shortest round-trip text) and is cast, so nothing depends on Python's time zone.

    The rows travel as one JSON literal, parsed in the JVM: ``createDataFrame`` on Python rows costs
    seconds per table on a small machine, a literal next to nothing.
    """
    types = {field.name: field.dataType for field in schema.fields}
    text = json.dumps([[None if v is None else _text(v) for v in row] for row in table.rows])
    rows = spark.range(1).select(F.explode(F.from_json(F.lit(text), "ARRAY<ARRAY<STRING>>")).alias("_r"))
    return rows.select(*[F.col("_r")[i].cast(types[c]).alias(c) for i, c in enumerate(table.columns)])


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def compare(frames: dict[str, tuple[DataFrame, DataFrame]], examples: int = EXAMPLES) -> list[TableComparison]:
    """Each table's actual rows against its expected rows (``{table: (expected, actual)}``), in name order.

    Compared as multisets (a duplicate row is extra) on the expected frame's columns, each row as its JSON
    text: doubles rounded to ``DOUBLE_DECIMALS``, timestamps to the microsecond, everything else as it is.
    One Spark job for all the tables, not one per table.
    """
    rows = None
    for name, (expected, actual) in frames.items():
        both = _as_json(name, expected, expected.columns, -1).unionByName(_as_json(name, actual, expected.columns, 1))
        rows = both if rows is None else rows.unionByName(both)
    side = F.col("_side")
    counted = rows.groupBy("_table", "_row").agg(
        F.count_if(side < 0).alias("_expected"), F.count_if(side > 0).alias("_actual")
    )
    short = F.col("_expected") - F.col("_actual")
    found = {
        row["_table"]: row
        for row in counted.groupBy("_table")
        .agg(
            F.sum("_expected").alias("expected"),
            F.sum("_actual").alias("actual"),
            F.sum(F.greatest(short, F.lit(0))).alias("missing"),
            F.sum(F.greatest(-short, F.lit(0))).alias("extra"),
            F.slice(F.sort_array(F.collect_list(F.when(short > 0, F.col("_row")))), 1, examples).alias("missing_rows"),
            F.slice(F.sort_array(F.collect_list(F.when(short < 0, F.col("_row")))), 1, examples).alias("extra_rows"),
        )
        .collect()
    }
    return [_comparison(name, found.get(name)) for name in sorted(frames)]


def _comparison(table: str, row: Row | None) -> TableComparison:
    if row is None:  # neither side has a row
        return TableComparison(table, 0, 0, 0, 0)
    return TableComparison(
        table,
        row["expected"],
        row["actual"],
        row["missing"],
        row["extra"],
        tuple(json.loads(text) for text in row["missing_rows"]),
        tuple(json.loads(text) for text in row["extra_rows"]),
    )


def _as_json(table: str, df: DataFrame, columns: list[str], side: int) -> DataFrame:
    """``df``'s ``columns`` as one JSON text per row, tagged with the table and the side (-1 expected, 1 actual)."""
    types = {field.name: field.dataType for field in df.schema.fields}
    rounded = (T.DoubleType, T.FloatType)
    values = [
        F.round(F.col(c), DOUBLE_DECIMALS).alias(c) if isinstance(types[c], rounded) else F.col(c) for c in columns
    ]
    text = F.to_json(F.struct(*values), {"timestampFormat": EXACT_TIMESTAMP, "ignoreNullFields": "false"})
    return df.select(F.lit(table).alias("_table"), text.alias("_row"), F.lit(side).alias("_side"))
