"""Checks a pipeline's tables against a sample set's manifest of expected row counts and exact values.

The manifest comes from the generator's own ground truth, never from the pipeline's code, so a check
that passes means the pipeline computed what the generator knows to be true.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fitlake.config import PipelineConfig

FLOAT_TOLERANCE = 1e-9
QUARANTINE = "bronze.quarantine"


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
