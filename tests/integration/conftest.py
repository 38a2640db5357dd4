"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from lake import Snapshot, run_sets_as_files
from waiting import HANG_GUARD_SECONDS


@pytest.fixture(scope="session")
def file_mode_tables(spark, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """Silver and gold after sets 1 and 2 landed as files (one batch run each): what every source path must give.

    Computed once per session; tests that use it build their own lake afterwards (the tables are shared).
    """
    return run_sets_as_files(spark, tmp_path_factory.mktemp("file-mode"))


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
