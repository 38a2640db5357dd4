"""A fresh lake for in-process pipeline runs, and the checks that its tables hold exactly the rows expected:
after a shipped set, or after a hand-made story's run.

Every source path (files, the database extract, Kafka) proves itself against the generator's ground truth
(``fitlake/sample/data/expected_set<N>/``), the comparison the test notebook makes, after each run.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from pyspark.sql import SparkSession

from fitlake import pipeline
from fitlake.config import PipelineConfig, load_config
from fitlake.contract import DATE_LOOKUP
from fitlake.pipeline.history import load_date_lookup
from fitlake.sample.expectations import compare_tables, expected_over_kafka, load_expected
from fitlake.sample.generator import shipped_age_as_of, shipped_sets, shipped_sets_dir
from fitlake.sample.producer import set_files
from fitlake.sample.rows import ExpectedTable
from fitlake.tables import SCHEMAS, create_all

AS_OF = shipped_age_as_of()
SETS = shipped_sets()  # the shipped sets' folders, set 1 first


def fresh_lake(spark: SparkSession, root: Path, calendar_of: Path | None = None, **overrides: object) -> PipelineConfig:
    """Drop every table and give a config whose landing zone and checkpoints live under ``root``.

    The calendar is loaded as history before any stream runs, as the driver's setup does: the shipped set
    ``calendar_of``'s (as the demo lands set 1 before the driver starts), or else the generated one.
    """
    for schema in SCHEMAS:
        spark.sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    shutil.rmtree(root, ignore_errors=True)
    config = replace(
        load_config(spark, "dev", age_as_of=AS_OF),
        landing=f"file:{root / 'landing'}",
        checkpoints=f"file:{root / 'checkpoints'}",
        **overrides,
    )
    for folder in pipeline.landing_folders(config):
        Path(folder.removeprefix("file:")).mkdir(parents=True, exist_ok=True)
    create_all(spark, config)
    if calendar_of is not None:
        land(config, calendar_of, (DATE_LOOKUP.name,))
    load_date_lookup(spark, config)
    return config


def land(config: PipelineConfig, set_dir: Path, sources: tuple[str, ...] | None = None) -> None:
    """Copy a sample set's files (of ``sources``, default all; ``set_dir``, such as one of ``SETS``) into the
    landing zone."""
    landing = Path(config.landing.removeprefix("file:"))
    for source, path in set_files(set_dir):
        if sources is None or source in sources:
            (landing / source).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, landing / source / path.name)


def assert_as_expected(spark: SparkSession, config: PipelineConfig, upto_set: int) -> None:
    """Every silver and gold table holds exactly the rows expected after shipped sets 1..``upto_set``."""
    expected = load_expected(shipped_sets_dir(), upto_set)
    if config.reads_topics:
        expected = expected_over_kafka(expected)
    _assert_equal(spark, config, expected, f"after set {upto_set}")


def assert_tables(spark: SparkSession, config: PipelineConfig, expected: dict[str, list[tuple]], when: str) -> None:
    """Each table of ``expected`` (``schema.table``) holds exactly its rows, compared in full: every column, as a
    multiset, the way the shipped sets are compared. On a mismatch the message names ``when`` and shows the
    rows missing and the rows extra.

    Each row gives every column of the table, in the table's order (a row of another length fails at once,
    so no column goes unchecked); values as the expected files write them: timestamps as UTC
    ``yyyy-MM-dd HH:mm:ss`` text, dates as ``yyyy-MM-dd``.
    """
    tables = {}
    for name, rows in expected.items():
        columns = tuple(spark.table(config.table(*name.split("."))).columns)
        wrong = [row for row in rows if len(row) != len(columns)]
        assert not wrong, f"{name} has the columns {columns}; these rows do not give each one: {wrong}"
        tables[name] = ExpectedTable(columns, tuple(rows))
    _assert_equal(spark, config, tables, when)


def _assert_equal(spark: SparkSession, config: PipelineConfig, expected: dict[str, ExpectedTable], when: str) -> None:
    differing = [c for c in compare_tables(spark, config, expected) if not c.equal]
    assert not differing, f"{when}:\n" + "\n".join(map(str, differing))
