"""Spark's code generation by micro-batch size (``streaming.for_each_batch``): a local query runs a small batch
interpreted, as the session starts, and a large one with generated code, in its own session alone; both give
the same rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from fitlake import platform
from fitlake.contract import KAFKA_MULTIPLEX
from fitlake.parameters import BATCH
from fitlake.streaming import StreamTarget, Trigger, batch_bytes, for_each_batch, read_landing, read_landing_files
from fitlake.transforms import bronze

CONFS = tuple(platform.CODEGEN_OFF)  # the code generation confs the rule sets


def _confs(session) -> dict[str, str]:
    return {key: session.conf.get(key) for key in CONFS}


@pytest.fixture
def threshold(spark):
    """The session's threshold set to 2,000 bytes while the test runs (a query takes its session's confs at start)."""
    saved = spark.conf.get(platform.LOCAL_CODEGEN_FROM_BYTES_CONF)
    spark.conf.set(platform.LOCAL_CODEGEN_FROM_BYTES_CONF, "2000")
    yield 2000
    spark.conf.set(platform.LOCAL_CODEGEN_FROM_BYTES_CONF, saved)


def _land(folder: Path, name: str, lines: int) -> int:
    """A JSON-lines landing file of ``lines`` Kafka records; its size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    records = [
        {"key": f"k{i}", "value": json.dumps({"device_id": i, "heartrate": 60.5, "time": 1.6e9 + i}), "topic": "bpm"}
        | {"partition": 0, "offset": i, "timestamp": 1_600_000_000_000 + i}
        for i in range(lines)
    ]
    path = folder / name
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path.stat().st_size


def _confs_per_batch(spark, folder: Path, checkpoint: Path) -> list[tuple[int | None, dict[str, str]]]:
    """One batch run over ``folder``'s new files: each batch's size and the code generation confs it ran with."""
    seen = []

    def handle(batch, _batch_id: int) -> None:
        seen.append((batch_bytes(batch), _confs(batch.sparkSession)))

    stream = read_landing(spark, str(folder), "json", bronze.read_schema(KAFKA_MULTIPLEX))
    for_each_batch(stream, StreamTarget("unused", str(checkpoint), Trigger(BATCH)), handle).awaitTermination()
    return seen


def test_a_small_batch_runs_interpreted_and_a_large_one_with_generated_code_in_its_query_alone(
    spark, threshold, tmp_path
):
    folder, checkpoint = tmp_path / "landing", tmp_path / "checkpoint"
    small = _land(folder, "a.json", 2)
    [(size, confs)] = _confs_per_batch(spark, folder, checkpoint)
    assert size is not None and small <= size < threshold and confs == platform.CODEGEN_OFF
    large = _land(folder, "b.json", 200)
    [(size, confs)] = _confs_per_batch(spark, folder, checkpoint)
    assert size is not None and size >= large > threshold and confs == platform.CODEGEN_ON
    # The session that started the queries keeps its settings (each query has a session of its own).
    assert _confs(spark) == platform.CODEGEN_OFF


def test_a_session_without_the_threshold_keeps_its_own_settings(spark, tmp_path):
    """A Databricks session has no fitlake threshold: its queries run with whatever it sets."""
    saved = spark.conf.get(platform.LOCAL_CODEGEN_FROM_BYTES_CONF)
    spark.conf.unset(platform.LOCAL_CODEGEN_FROM_BYTES_CONF)
    try:
        _land(tmp_path / "landing", "a.json", 200)
        [(_size, confs)] = _confs_per_batch(spark, tmp_path / "landing", tmp_path / "checkpoint")
    finally:
        spark.conf.set(platform.LOCAL_CODEGEN_FROM_BYTES_CONF, saved)
    assert confs == platform.CODEGEN_OFF  # the session's own, untouched


def test_a_source_without_an_estimate_counts_as_small(spark, tmp_path):
    """A source Spark cannot size (a Kafka topic; here a JDBC table, which is sized the same way) gives no estimate,
    even under a projection that narrows its rows (Spark scales its unknown size down there)."""
    database = tmp_path / "rows.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (a TEXT, b TEXT)")
    rows = spark.read.jdbc(f"jdbc:sqlite:{database}", "t", properties={"driver": "org.sqlite.JDBC"})
    assert batch_bytes(rows.select(F.length("a").alias("n"))) is None
    assert batch_bytes(spark.range(10).select("id")) == batch_bytes(spark.range(10)) > 0  # a known size


def test_bronze_gives_the_same_rows_interpreted_and_with_generated_code(spark, tmp_path):
    """The rows do not depend on the choice: bronze's checks and shaping of Kafka records, good and bad, in both."""
    _land(tmp_path / "landing", "a.json", 50)
    bad = '{"key": "x", "value": "{}", "topic": "nope", "partition": 0, "offset": 99, "timestamp": -5}\nnot json\n'
    (tmp_path / "landing" / "b.json").write_text(bad, encoding="utf-8")
    calendar = spark.createDataFrame([], "date DATE, week_part STRING")
    files = [str(path) for path in sorted((tmp_path / "landing").iterdir())]
    results = {}
    try:
        for name, confs in (("off", platform.CODEGEN_OFF), ("on", platform.CODEGEN_ON)):
            for key, value in confs.items():
                spark.conf.set(key, value)
            landed = read_landing_files(spark, files, "json", bronze.read_schema(KAFKA_MULTIPLEX))
            checked = bronze.kafka_with_reason(landed)
            good = bronze.kafka_records(bronze.good_rows(checked, KAFKA_MULTIPLEX.columns), calendar).drop("load_time")
            reasons = checked.where(F.col("_reason").isNotNull()).select("_reason")
            results[name] = (sorted(good.collect()), sorted(reasons.collect()))
    finally:
        for key, value in platform.CODEGEN_OFF.items():
            spark.conf.set(key, value)
    assert results["on"] == results["off"]
    assert len(results["off"][0]) == 50 and len(results["off"][1]) == 2
