"""Kafka mode against a real local broker: the tables the generator expects, exactly once across a stop mid-way.

Registrations and gym sessions still arrive as files (the database extract's path); the Kafka records are
published to the broker by the producer and read by bronze's Kafka source.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lake import SETS, assert_as_expected, fresh_lake, land
from pyspark.sql import functions as F

from fitlake import pipeline
from fitlake.kafka.producer import publish_set
from fitlake.kafka.settings import KafkaSettings, credentials, python_client_config
from fitlake.local.secrets import EnvSecrets, Redactor, secret_env_var
from fitlake.pipeline import bronze as bronze_flows
from fitlake.sample.generator import shipped_sets_dir
from fitlake.streaming import CONTINUOUS, Trigger

pytestmark = pytest.mark.integration

FILE_SOURCES = ("date_lookup", "registered_users", "gym_logins")
# The lines of the shipped sets that are no Kafka record at all (file mode: bronze quarantine rows).
UNPUBLISHABLE = {"set1": ["set1-part-00003.json:20"], "set2": ["set2-part-00000.json:5"]}


def _publish(broker, set_name: str) -> int:
    client = python_client_config(KafkaSettings(broker.bootstrap_servers), None)
    report = publish_set(shipped_sets_dir() / set_name, client)
    assert [item.origin for item in report.rejected] == UNPUBLISHABLE[set_name], report.lines()
    return report.total


def _kafka_lake(spark, root: Path, broker, calendar_of: str | None = None, **kafka: object):
    settings = KafkaSettings(broker.bootstrap_servers, **kafka)
    return fresh_lake(spark, root, calendar_of, bronze_source="kafka", kafka=settings)


def test_kafka_mode_gives_the_expected_silver_and_gold(spark, kafka_topics, tmp_path):
    """The same silver and gold as the file mode: the lines that are no Kafka record never reach bronze over
    Kafka, and in the file mode bronze quarantines them, so neither reaches silver."""
    config = _kafka_lake(spark, tmp_path, kafka_topics, calendar_of=SETS[0])
    published = 0
    for upto_set, set_name in enumerate(SETS, start=1):
        land(config, set_name, FILE_SOURCES)
        published += _publish(kafka_topics, set_name)
        pipeline.run(spark, config)
        assert_as_expected(spark, config, upto_set)

    bronze = spark.table(config.table("bronze", "kafka_multiplex_bz"))
    assert bronze.count() == published == bronze.select("topic", "partition", "offset").distinct().count()
    assert bronze.where(~F.col("source_file").startswith("kafka://")).count() == 0
    # Nothing from Kafka was malformed: the two unpublishable lines never reached the broker (reported above).
    assert spark.table(config.table("bronze", "quarantine")).where("source = 'kafka_multiplex_bz'").count() == 0


def test_a_stream_stopped_mid_way_resumes_without_duplicates(spark, kafka_topics, tmp_path):
    """Stopped after a few small micro-batches, the last one's commit lost as in a crash: the restart replays it
    from the checkpointed offsets and Delta's idempotent append writes nothing twice."""
    config = _kafka_lake(spark, tmp_path, kafka_topics, max_offsets_per_trigger=200)
    published = _publish(kafka_topics, "set1")
    table = config.table("bronze", "kafka_multiplex_bz")
    flow = next(flow for flow in bronze_flows.FLOWS if flow.name == "bronze.kafka_multiplex_bz")

    query = flow.start(spark, config, Trigger(CONTINUOUS, "0 seconds"))
    try:
        while (query.lastProgress or {}).get("batchId", -1) < 2 and query.isActive:
            query.awaitTermination(0.5)
    finally:
        query.stop()  # interrupts the batch in flight, if any: its Delta commit happened entirely or not at all
    partial = spark.table(table).count()
    assert 0 < partial < published  # really stopped mid-way

    checkpoint = tmp_path / "checkpoints" / "bronze" / "kafka_multiplex_bz_from_kafka"
    offsets, commits = (_batch_ids(checkpoint / name) for name in ("offsets", "commits"))
    if max(offsets) == max(commits):
        # Stopped between batches: lose the last commit, as if the process died after the batch's Delta commit
        # and before the stream's own, so the restart must replay a batch that is already in the table.
        (checkpoint / "commits" / str(max(commits))).unlink()
        (checkpoint / "commits" / f".{max(commits)}.crc").unlink(missing_ok=True)

    pipeline.run(spark, config, layers=["bronze"])
    assert not (set(_batch_ids(checkpoint / "offsets")) - set(_batch_ids(checkpoint / "commits")))
    bronze = spark.table(table)
    assert bronze.count() == published
    assert bronze.select("topic", "partition", "offset").distinct().count() == published


def _batch_ids(folder: Path) -> list[int]:
    return [int(path.name) for path in folder.iterdir() if path.name.isdigit()]


def test_sasl_plain_credentials_come_from_secrets(spark, kafka_topics, monkeypatch, tmp_path):
    """The SASL path (as to Event Hubs, without TLS): JAAS built from secrets, against the broker's SASL listener."""
    settings = KafkaSettings(
        kafka_topics.sasl_bootstrap_servers, "SASL_PLAINTEXT", "PLAIN", "kafka-local", "user", "password"
    )
    monkeypatch.setenv(secret_env_var("kafka-local", "user"), kafka_topics.sasl_username)
    monkeypatch.setenv(secret_env_var("kafka-local", "password"), kafka_topics.sasl_password)
    secrets = EnvSecrets(Redactor())
    config = replace(fresh_lake(spark, tmp_path), bronze_source="kafka", kafka=settings, secrets=secrets)
    assert kafka_topics.sasl_password not in repr(config)
    login = credentials(settings, secrets)
    assert kafka_topics.sasl_password not in repr(login)
    report = publish_set(shipped_sets_dir() / "set2", python_client_config(settings, login))
    assert report.total > 0

    pipeline.run(spark, config, layers=["bronze"])
    assert spark.table(config.table("bronze", "kafka_multiplex_bz")).count() == report.total
