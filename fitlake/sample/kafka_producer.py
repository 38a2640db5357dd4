"""The Kafka producer: publishes a sample set's Kafka records to their topics, as the devices' feed would.

Each line of ``<set>/kafka_multiplex/*.json`` is one Kafka record as it was once consumed: key, value, topic,
partition, offset, timestamp. It is published to the same topic and partition, with its original timestamp
as the record's CreateTime, so bronze derives the same date and week_part as from the file. The broker
assigns new offsets: an offset is a position in a log and cannot be chosen by a producer.

A line that cannot be published as it stands is never dropped in silence: it is returned as ``Rejected``
with the file, line and reason, and the notebook and CLI print every one. In the shipped sets these are the
lines that are not JSON records at all (a truncated line, a Python-dict line): in the file mode they become
bronze quarantine rows, but over Kafka there is no topic to put them on, because a broker only carries
records. A record whose topic the pipeline does not read, whose partition the topic lacks, or whose
timestamp is no epoch is rejected the same way. A record with a null value is published as it is (a
tombstone), and bronze quarantines it as the file mode does.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fitlake.contract import EPOCH_MILLIS_BELOW, EPOCH_SECONDS_BELOW, KAFKA_MULTIPLEX, TOPICS
from fitlake.errors import ConfigError, FitlakeError

SOURCE = KAFKA_MULTIPLEX.name
SEND_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    key: str | None
    value: str | None
    timestamp_ms: int
    origin: str  # file:line, for messages


@dataclass(frozen=True)
class Rejected:
    origin: str
    reason: str
    text: str


@dataclass
class PublishReport:
    published: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.published.values())

    def lines(self) -> list[str]:
        """What a person reads: counts per topic, then every rejected line and why."""
        counts = ", ".join(f"{topic} {count}" for topic, count in sorted(self.published.items())) or "none"
        out = [f"Published {self.total} records ({counts}); {len(self.rejected)} lines not published."]
        out += [f"  NOT PUBLISHED {item.origin}: {item.reason}: {item.text}" for item in self.rejected]
        return out


def read_set(set_dir: Path) -> tuple[list[Record], list[Rejected]]:
    """The records of a set's Kafka files in file and line order, and the lines that cannot be published."""
    folder = set_dir / SOURCE
    if not folder.is_dir():
        raise ConfigError(f"Sample set {set_dir} has no {SOURCE}/ folder: generate it (fitlake generate).")
    records: list[Record] = []
    rejected: list[Rejected] = []
    for path in sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith((".", "_"))):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            parsed = parse_line(line, f"{path.name}:{number}")
            (records if isinstance(parsed, Record) else rejected).append(parsed)
    return records, rejected


def parse_line(line: str, origin: str) -> Record | Rejected:
    """One landing line as a publishable record, or the reason it is not one."""
    try:
        fields = json.loads(line)
    except ValueError:
        return Rejected(origin, "not a JSON record (no topic to publish it to)", line[:200])
    if not isinstance(fields, dict):
        return Rejected(origin, "not a JSON record (no topic to publish it to)", line[:200])
    topic, partition, timestamp = fields.get("topic"), fields.get("partition"), fields.get("timestamp")
    problem = None
    if topic not in TOPICS:
        problem = f"topic {topic!r} is not one the pipeline reads ({', '.join(TOPICS)})"
    elif not isinstance(partition, int) or isinstance(partition, bool) or partition < 0:
        problem = f"partition {partition!r} is not a partition number"
    elif _millis(timestamp) is None:
        problem = f"timestamp {timestamp!r} is not an epoch time"
    if problem:
        return Rejected(origin, problem, line[:200])
    key, value = fields.get("key"), fields.get("value")
    return Record(topic, partition, _text(key), _text(value), _millis(timestamp), origin)


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _millis(timestamp: Any) -> int | None:
    """Epoch milliseconds of a landing timestamp (seconds below 1e11), or None when it is no epoch time."""
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool) or timestamp != timestamp:
        return None
    millis = timestamp * 1000 if timestamp < EPOCH_SECONDS_BELOW else timestamp
    return int(round(millis)) if 0 <= millis < EPOCH_MILLIS_BELOW else None


def publish(records: list[Record], client_config: dict[str, Any]) -> PublishReport:
    """Publish ``records`` (missing topics are created with the partitions the records need); wait for acks."""
    from kafka import KafkaProducer

    _create_missing_topics(records, client_config)
    report = PublishReport()
    producer = KafkaProducer(**client_config, acks="all", linger_ms=20, max_in_flight_requests_per_connection=1)
    try:
        partitions = {topic: producer.partitions_for(topic) or set() for topic in {r.topic for r in records}}
        sent = []
        for record in records:
            if record.partition not in partitions[record.topic]:
                reason = f"topic {record.topic} has no partition {record.partition} ({len(partitions[record.topic])})"
                report.rejected.append(Rejected(record.origin, reason, f"{record.key}: {record.value}"[:200]))
                continue
            sent.append((record, producer.send(**_send_arguments(record))))
        producer.flush(timeout=SEND_TIMEOUT_SECONDS)
        counts: Counter[str] = Counter()
        for record, future in sent:
            try:
                future.get(timeout=SEND_TIMEOUT_SECONDS)
                counts[record.topic] += 1
            except Exception as error:  # noqa: BLE001 - any refusal becomes a visible rejection, not a crash
                report.rejected.append(Rejected(record.origin, f"the broker refused it: {error}", record.topic))
        report.published = dict(counts)
    finally:
        producer.close(timeout=SEND_TIMEOUT_SECONDS)
    return report


def publish_set(set_dir: Path, client_config: dict[str, Any]) -> PublishReport:
    records, rejected = read_set(set_dir)
    report = publish(records, client_config)
    report.rejected[:0] = rejected
    return report


def _send_arguments(record: Record) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "key": None if record.key is None else record.key.encode("utf-8"),
        "value": None if record.value is None else record.value.encode("utf-8"),
        "timestamp_ms": record.timestamp_ms,
    }


def _create_missing_topics(records: list[Record], client_config: dict[str, Any]) -> None:
    """Create each topic the records name that does not exist yet, with as many partitions as they use."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    needed: dict[str, int] = {}
    for record in records:
        needed[record.topic] = max(needed.get(record.topic, 0), record.partition + 1)
    admin = KafkaAdminClient(**client_config)
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(topic, count, 1) for topic, count in sorted(needed.items()) if topic not in existing]
        if missing:
            admin.create_topics(missing)
    except TopicAlreadyExistsError:
        pass  # created meanwhile by another producer: what matters is that it exists
    except KafkaError as error:
        raise FitlakeError(
            f"Could not create the Kafka topics {', '.join(sorted(needed))}: {error}. Create them on the cluster "
            "(with at least 2 partitions) or give the producer's principal the right to."
        ) from error
    finally:
        admin.close()
