"""A fresh lake for in-process pipeline runs, and snapshots of its silver and gold tables to compare.

The tests of other source paths (the database extract, Kafka) prove themselves against the file mode:
the same sample sets through the landing zone as files give the reference snapshot
(``file_mode_tables`` in conftest.py), and each other path must produce an equal one.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from pyspark.sql import SparkSession

from fitlake import pipeline
from fitlake.config import PipelineConfig, load_config
from fitlake.expectations import load_manifest
from fitlake.pipeline.history import load_date_lookup
from fitlake.producer import set_files
from fitlake.sample.generator import shipped_sets_dir
from fitlake.tables import GOLD, SCHEMAS, SILVER, TABLES, create_all

AS_OF = load_manifest(shipped_sets_dir() / "manifest_set1.json")["age_as_of"]
SETS = ("set1", "set2")

# Columns that say when or from where a row was loaded, not what it holds: they differ between runs.
_LOAD_COLUMNS = {"load_time", "source_file"}
# Quarantine rows are compared on what was wrong, not on the position a source gave the record.
_QUARANTINE_COLUMNS = ("source", "raw", "reason")

Snapshot = dict[str, list[tuple]]


def fresh_lake(spark: SparkSession, root: Path, **overrides: object) -> PipelineConfig:
    """Drop every table and give a config whose landing zone and checkpoints live under ``root``.

    The calendar is loaded as history (generated) before any stream runs, as the driver's setup does.
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
    load_date_lookup(spark, config)
    return config


def land(config: PipelineConfig, set_name: str, sources: tuple[str, ...] | None = None) -> None:
    """Copy a shipped sample set's files (of ``sources``, default all) into the landing zone."""
    landing = Path(config.landing.removeprefix("file:"))
    for source, path in set_files(shipped_sets_dir() / set_name):
        if sources is None or source in sources:
            (landing / source).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, landing / source / path.name)


def snapshot(spark: SparkSession, config: PipelineConfig) -> Snapshot:
    """Every silver and gold table (and the gym_summary view) as sorted rows, without load columns."""
    names = [f"{spec.schema}.{spec.name}" for spec in TABLES if spec.schema in (SILVER, GOLD)]
    tables: Snapshot = {}
    for name in [*names, f"{GOLD}.gym_summary"]:
        df = spark.table(config.table(*name.split(".")))
        if name.endswith(".quarantine"):
            df = df.select(*_QUARANTINE_COLUMNS)
        else:
            df = df.select(*[c for c in df.columns if c not in _LOAD_COLUMNS])
        tables[name] = sorted((tuple(row) for row in df.collect()), key=repr)
    return tables


def differences(expected: Snapshot, actual: Snapshot) -> dict[str, dict[str, list[tuple]]]:
    """Per table that differs: the rows only in ``expected`` ("missing") and only in ``actual`` ("extra")."""
    found = {}
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name, []), actual.get(name, [])
        if want != got:
            missing = [row for row in want if row not in got]
            extra = [row for row in got if row not in want]
            found[name] = {"missing": missing[:5], "extra": extra[:5], "counts": [(len(want), len(got))]}
    return found


def run_sets_as_files(spark: SparkSession, root: Path) -> Snapshot:
    """The reference: each shipped set landed as files, then one batch run per set."""
    config = fresh_lake(spark, root)
    for set_name in SETS:
        land(config, set_name)
        pipeline.run(spark, config)
    return snapshot(spark, config)
