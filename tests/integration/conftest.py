"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from waiting import HANG_GUARD_SECONDS


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory):
    """A real local Kafka broker (KRaft, one node) for the session; stopped (and killed if need be) at the end."""
    from fitlake.local import kafka

    work_dir = tmp_path_factory.mktemp("kafka-broker")
    broker = kafka.start(work_dir, timeout_seconds=HANG_GUARD_SECONDS)
    yield broker
    kafka.stop(work_dir)


@pytest.fixture
def kafka_topics(kafka_broker):
    """The pipeline's topics, empty: deleted and created afresh (2 partitions) for each test that uses them."""
    from kafka_helpers import recreate_topics

    recreate_topics(kafka_broker.bootstrap_servers)
    return kafka_broker
