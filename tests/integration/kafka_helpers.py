"""Helpers of the Kafka tests: empty topics on the session's broker."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from waiting import wait_for

from fitlake.contract import TOPICS

PARTITIONS = 2  # the shipped sets use partitions 0 and 1


def recreate_topics(bootstrap_servers: str) -> None:
    """Delete the pipeline's topics if they exist and create them empty (deletion completes asynchronously)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        existing = [topic for topic in TOPICS if topic in set(admin.list_topics())]
        if existing:
            admin.delete_topics(existing)
            wait_for(lambda: not set(TOPICS) & set(admin.list_topics()), "the deletion of the topics", poll_seconds=0.3)
        admin.create_topics([NewTopic(topic, PARTITIONS, 1) for topic in TOPICS])
        wait_for(lambda: set(TOPICS) <= set(admin.list_topics()), "the creation of the topics", poll_seconds=0.3)
    finally:
        admin.close()
