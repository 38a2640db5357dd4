"""The local Kafka broker: started, found again, stopped; restarted on its data; a failed start says why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from waiting import HANG_GUARD_SECONDS

from fitlake.local import kafka

pytestmark = pytest.mark.integration


def _start(work_dir: Path) -> kafka.Broker:
    """kafka.start with the tests' hang guard: a broker slow to serve on a busy machine is not a failure."""
    return kafka.start(work_dir, timeout_seconds=HANG_GUARD_SECONDS)


def _topics(broker: kafka.Broker) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_start_status_stop_and_restart_on_the_same_data(tmp_path):
    from kafka.admin import NewTopic

    broker = _start(tmp_path)
    try:
        assert _start(tmp_path) == broker  # already running: the same broker, not a second one
        assert kafka.status(tmp_path) == broker
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        admin.create_topics([NewTopic("kept", 1, 1)])
        admin.close()
    finally:
        assert kafka.stop(tmp_path)
    assert kafka.status(tmp_path) is None and not kafka.stop(tmp_path)

    again = _start(tmp_path)  # same ports (the quorum recorded them), same topics
    try:
        assert again.bootstrap_servers == broker.bootstrap_servers and "kept" in _topics(again)
    finally:
        kafka.stop(tmp_path)


def test_a_broker_that_cannot_start_fails_with_its_log(tmp_path):
    broker = _start(tmp_path)
    kafka.stop(tmp_path)
    (tmp_path / "data" / "meta.properties").write_text("node.id=7\nversion=1\ncluster.id=not-this-one\n")
    with pytest.raises(kafka.BrokerError, match="exited with code") as error:
        _start(tmp_path)  # fails on the process's exit
    assert str(broker.log_file) in str(error.value)
    assert kafka.status(tmp_path) is None


def test_the_cli_starts_reports_and_stops_the_environments_broker(tmp_path):
    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "fitlake.cli", "kafka", *args, "--data-root", str(tmp_path)]
        return subprocess.run(command, capture_output=True, text=True, timeout=180)

    started = cli("start")
    assert started.returncode == 0, started.stderr
    try:
        assert "Kafka broker running at 127.0.0.1:" in started.stdout
        assert cli("status").returncode == 0
    finally:
        assert "stopped" in cli("stop").stdout
    assert cli("status").returncode == 3
    assert (tmp_path / "dev" / "kafka" / "broker.log").is_file()
