"""Kafka mode crashed for real: the driver (Python and its JVM) killed with SIGKILL mid-way, then restarted.

Unlike test_kafka_pipeline's in-process stop, nothing gets to clean up here: the process group dies between
two instructions, wherever the stream was (inside a micro-batch, between its Delta commit and the stream's
own commit, or between batches). The restart must leave every published record in bronze exactly once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lake import AS_OF, SETS
from waiting import HANG_GUARD_SECONDS, wait_for

from fitlake.config import CONFIG_DIR, CONFIG_DIR_ENV_VAR
from fitlake.kafka.settings import KafkaSettings, python_client_config
from fitlake.local.layout import LocalLayout
from fitlake.sample.kafka_producer import publish_set

pytestmark = pytest.mark.integration

RECORDS_PER_BATCH = 150  # about ten micro-batches for set 1
KILL_AT_BATCH = 3


def _config_with_small_batches(folder: Path) -> Path:
    shutil.copytree(CONFIG_DIR, folder)
    dev = folder / "dev.toml"
    text = dev.read_text()
    assert "max_offsets_per_trigger = 0" in text
    dev.write_text(text.replace("max_offsets_per_trigger = 0", f"max_offsets_per_trigger = {RECORDS_PER_BATCH}"))
    return folder


def _fitlake_run(data_root: Path, servers: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "fitlake.cli", "run", "--data-root", str(data_root), "--layers", "bronze",
        "--bronze-source", "kafka", "--kafka-bootstrap-servers", servers, "--age-as-of", AS_OF, *extra,
    ]  # fmt: skip


def _wait_for_batch(checkpoint: Path, child: subprocess.Popen, log: Path) -> None:
    """Until the stream has planned batch KILL_AT_BATCH (its offsets file), or fail at once if the driver exits."""
    wait_for(
        (checkpoint / "offsets" / str(KILL_AT_BATCH)).exists,
        f"batch {KILL_AT_BATCH} of the Kafka stream",
        gone=lambda: None if child.poll() is None else f"the driver exited with {child.returncode}",
        state=lambda: log.read_text()[-3000:],
        poll_seconds=0.05,  # look often: the kill must land mid-way through the set, not after its last batch
    )


def test_a_sigkilled_kafka_stream_restarts_with_every_record_once(spark, kafka_topics, tmp_path):
    settings = KafkaSettings(kafka_topics.bootstrap_servers)
    published = publish_set(SETS[0], python_client_config(settings, None)).total
    env = {**os.environ, CONFIG_DIR_ENV_VAR: str(_config_with_small_batches(tmp_path / "config"))}
    data_root = tmp_path / "root"
    checkpoint = LocalLayout(data_root, "dev").checkpoints / "bronze" / "kafka_multiplex_bz_from_kafka"
    log = tmp_path / "driver.log"

    with log.open("w") as out:
        # The driver's own timeout only ends it should this test die before killing it (it has its own session):
        # beyond the hang guard, so it never decides the test.
        backstop = str(int(2 * HANG_GUARD_SECONDS))
        continuous = ("--mode", "continuous", "--processing-time", "1 second", "--timeout", backstop)
        child = subprocess.Popen(
            _fitlake_run(data_root, kafka_topics.bootstrap_servers, *continuous),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: the kill takes the JVM too
        )
        try:
            _wait_for_batch(checkpoint, child, log)
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(HANG_GUARD_SECONDS)
    committed = {int(p.name) for p in (checkpoint / "commits").iterdir() if p.name.isdigit()}
    assert max(committed, default=-1) < KILL_AT_BATCH + 2, "the stream had nearly finished: no crash mid-way"

    restart = subprocess.run(
        _fitlake_run(data_root, kafka_topics.bootstrap_servers),
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD_SECONDS,  # a hang guard on its exit
    )
    assert restart.returncode == 0, restart.stdout[-3000:] + restart.stderr[-3000:]

    bronze_folder = LocalLayout(data_root, "dev").table_folder("bronze", "kafka_multiplex_bz")
    bronze = spark.read.format("delta").load(str(bronze_folder))
    assert bronze.count() == published
    assert bronze.select("topic", "partition", "offset").distinct().count() == published
