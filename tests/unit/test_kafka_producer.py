"""The Kafka producer's reading of a set: what is published as it stands, and what is reported instead."""

from __future__ import annotations

import json

import pytest

from fitlake.sample.expectations import load_manifest, over_kafka
from fitlake.sample.generator import shipped_sets, shipped_sets_dir
from fitlake.sample.kafka_producer import Record, Rejected, parse_line, read_set
from fitlake.sample.spec import manifest_path


def line(**fields: object) -> str:
    record = {"key": "1", "value": '{"device_id":1}', "topic": "bpm", "partition": 1, "offset": 7}
    return json.dumps({**record, **fields})


def test_a_record_keeps_topic_partition_key_value_and_its_time_in_milliseconds():
    expected = Record("bpm", 1, "1", '{"device_id":1}', 1678100873123, "f:1")
    assert parse_line(line(timestamp=1678100873123), "f:1") == expected
    # The file mode takes values below 1e11 as epoch seconds: published as the same instant in milliseconds.
    assert parse_line(line(timestamp=1678100873), "f:1").timestamp_ms == 1678100873000
    assert parse_line(line(timestamp=1678100873, value=None), "f:1").value is None  # a tombstone, quarantined in bronze


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"key":"945234","value":"{\\"dev', "not a JSON record"),
        ("{'key': 'connector', 'value': 'restart'}", "not a JSON record"),
        ("[1, 2]", "not a JSON record"),
        (line(timestamp=1, topic="audit"), "topic 'audit' is not one the pipeline reads"),
        (line(timestamp=1, partition=-1), "partition -1 is not a partition number"),
        (line(timestamp=-5), "timestamp -5 is not an epoch time"),
        (line(timestamp=1e17), "is not an epoch time"),
        (line(timestamp="yesterday"), "is not an epoch time"),
    ],
)
def test_a_line_that_cannot_be_published_as_it_stands_is_reported_with_the_reason(text, reason):
    rejected = parse_line(text, "f:3")
    assert isinstance(rejected, Rejected) and rejected.origin == "f:3" and reason in rejected.reason


def test_the_shipped_sets_publish_every_record_and_report_their_two_malformed_lines():
    counts = []
    for set_dir in shipped_sets():
        records, rejected = read_set(set_dir)
        counts.append((len(records), [r.origin for r in rejected]))
        assert {r.topic for r in records} == {"user_info", "bpm", "workout"}
        assert all(1.6e12 < r.timestamp_ms < 1.7e12 for r in records)
    assert counts == [(1447, ["set1-part-00003.json:20"]), (467, ["set2-part-00000.json:5"])]


def test_over_kafka_expects_the_unpublishable_lines_outside_bronze_quarantine():
    sets = shipped_sets_dir()
    manifest = load_manifest(manifest_path(sets, 2))
    unpublished = sum(len(read_set(set_dir)[1]) for set_dir in shipped_sets())
    assert unpublished == 2  # one line per shipped set is not a JSON record at all
    adjusted = over_kafka(manifest, list(shipped_sets()))
    assert adjusted["tables"]["bronze.quarantine"] == manifest["tables"]["bronze.quarantine"] - unpublished
    assert {k: v for k, v in adjusted["tables"].items() if k != "bronze.quarantine"} == {
        k: v for k, v in manifest["tables"].items() if k != "bronze.quarantine"
    }
    assert adjusted["values"] == manifest["values"]
