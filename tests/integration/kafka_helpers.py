"""Helpers of the Kafka tests: empty topics on the session's broker."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from fitlake.kafka.settings import TOPICS

PARTITIONS = 2  # the shipped sets use partitions 0 and 1


def recreate_topics(bootstrap_servers: str, timeout_seconds: float = 60) -> None:
    """Delete the pipeline's topics if they exist and create them empty (deletion completes asynchronously)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        existing = [topic for topic in TOPICS if topic in set(admin.list_topics())]
        if existing:
            admin.delete_topics(existing)
            _wait(lambda: not set(TOPICS) & set(admin.list_topics()), timeout_seconds, "topics deleted")
        admin.create_topics([NewTopic(topic, PARTITIONS, 1) for topic in TOPICS])
        _wait(lambda: set(TOPICS) <= set(admin.list_topics()), timeout_seconds, "topics created")
    finally:
        admin.close()


def _wait(condition: Callable[[], bool], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} within {timeout_seconds} s")
        time.sleep(0.3)
