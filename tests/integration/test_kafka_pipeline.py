"""Kafka mode against a real local broker: the tables the generator expects, exactly once across a crash mid-way.

Registrations and gym sessions still arrive as files (the database extract's path); the Kafka records are
published to the broker by the producer and read by bronze's Kafka source.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lake import SETS, assert_as_expected, fresh_lake, land
from pyspark.errors import StreamingQueryException
from pyspark.sql import functions as F

from fitlake import crash_points, pipeline
from fitlake.contract import KAFKA_MULTIPLEX, SOURCE_NAMES
from fitlake.kafka.settings import KafkaSettings, credentials, python_client_config
from fitlake.local.secrets import EnvSecrets, Redactor, secret_env_var
from fitlake.parameters import BATCH
from fitlake.pipeline import bronze as bronze_flows
from fitlake.sample.kafka_producer import publish_set
from fitlake.streaming import Trigger

pytestmark = pytest.mark.integration

FILE_SOURCES = tuple(name for name in SOURCE_NAMES if name != KAFKA_MULTIPLEX.name)
# The lines of the shipped sets that are no Kafka record at all (file mode: bronze quarantine rows).
UNPUBLISHABLE = {SETS[0]: ["set1-part-00003.json:20"], SETS[1]: ["set2-part-00000.json:5"]}


def _publish(broker, set_dir: Path) -> int:
    client = python_client_config(KafkaSettings(broker.bootstrap_servers), None)
    report = publish_set(set_dir, client)
    assert [item.origin for item in report.rejected] == UNPUBLISHABLE[set_dir], report.lines()
    return report.total


def _kafka_lake(spark, root: Path, broker, calendar_of: Path | None = None, **kafka: object):
    settings = KafkaSettings(broker.bootstrap_servers, **kafka)
    return fresh_lake(spark, root, calendar_of, bronze_source="kafka", kafka=settings)


def test_kafka_mode_gives_the_expected_silver_and_gold(spark, kafka_topics, tmp_path):
    """The same silver and gold as the file mode: the lines that are no Kafka record never reach bronze over
    Kafka, and in the file mode bronze quarantines them, so neither reaches silver."""
    config = _kafka_lake(spark, tmp_path, kafka_topics, calendar_of=SETS[0])
    published = 0
    for upto_set, set_dir in enumerate(SETS, start=1):
        land(config, set_dir, FILE_SOURCES)
        published += _publish(kafka_topics, set_dir)
        pipeline.run(spark, config)
        assert_as_expected(spark, config, upto_set)

    bronze = spark.table(config.table("bronze", "kafka_multiplex_bz"))
    assert bronze.count() == published == bronze.select("topic", "partition", "offset").distinct().count()
    assert bronze.where(~F.col("source_file").startswith("kafka://")).count() == 0
    # Nothing from Kafka was malformed: the two unpublishable lines never reached the broker (reported above).
    assert spark.table(config.table("bronze", "quarantine")).where("source = 'kafka_multiplex_bz'").count() == 0


def test_a_batch_crashed_after_its_append_is_replayed_from_the_checkpointed_offsets(
    spark, kafka_topics, tmp_path, monkeypatch
):
    """Exactly once from the topics: the third micro-batch crashes after its Delta append and before its
    checkpoint commit (a crash point); the restart replays that batch from the offsets it had planned (the
    Kafka flow's own replay path, taken every time here) and Delta's idempotent append writes nothing twice."""
    config = _kafka_lake(spark, tmp_path, kafka_topics, max_offsets_per_trigger=200)
    published = _publish(kafka_topics, SETS[0])
    table = config.table("bronze", "kafka_multiplex_bz")
    flow = next(flow for flow in bronze_flows.FLOWS if flow.name == "bronze.kafka_multiplex_bz")

    monkeypatch.setenv(crash_points.CRASH_AFTER_BATCH, f"{flow.name}@2")
    query = flow.start(spark, config, Trigger(BATCH))
    with pytest.raises(StreamingQueryException, match=f"crash point: {flow.name} batch 2"):
        query.awaitTermination()
    monkeypatch.delenv(crash_points.CRASH_AFTER_BATCH)
    assert 0 < spark.table(table).count() < published  # really stopped mid-way, batch 2's rows written
    checkpoint = tmp_path / "checkpoints" / "bronze" / "kafka_multiplex_bz_from_kafka"
    assert (max(_batch_ids(checkpoint / "offsets")), max(_batch_ids(checkpoint / "commits"))) == (2, 1)
    planned = (checkpoint / "offsets" / "2").read_text()

    pipeline.run(spark, config, layers=["bronze"])
    assert (checkpoint / "offsets" / "2").read_text() == planned  # batch 2 was replayed, not planned anew
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
    report = publish_set(SETS[1], python_client_config(settings, login))
    assert report.total > 0

    pipeline.run(spark, config, layers=["bronze"])
    assert spark.table(config.table("bronze", "kafka_multiplex_bz")).count() == report.total
