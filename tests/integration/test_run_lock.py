"""One pipeline run per environment: a second run is refused naming the first; a crashed run's lock is taken over.

The holders here are real processes (a live one, one that has ended), on the machine the tests run on; a
holder on another host is a lock file naming another host, judged by its heartbeat.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fitlake import pipeline
from fitlake.config import load_config
from fitlake.pipeline.lock import STALE_AFTER_SECONDS, RunLockedError, lock_path, run_lock


@pytest.fixture
def config(spark, tmp_path):  # noqa: ANN201 - a PipelineConfig with its own checkpoints folder
    return replace(load_config(spark, "dev"), checkpoints=f"file:{tmp_path / 'checkpoints'}")


def _lock_file(config) -> Path:  # noqa: ANN001 - a PipelineConfig
    return Path(lock_path(config).removeprefix("file:"))


def _hold(config, **holder: object) -> None:  # noqa: ANN001 - a PipelineConfig
    path = _lock_file(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = "2026-12-03T06:00:00+00:00"
    path.write_text(json.dumps({"run": "theirs", "mode": "continuous", "started": started, **holder}))


def test_a_run_is_refused_while_a_live_process_holds_the_environment_naming_it(spark, config):
    holder = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])  # lives until killed
    try:
        _hold(config, host=socket.gethostname(), pid=holder.pid)
        with pytest.raises(RunLockedError) as refused:
            pipeline.run(spark, config)
        message = str(refused.value)
        assert "run theirs" in message and f"process {holder.pid}" in message and "continuous mode" in message
        assert json.loads(_lock_file(config).read_text())["run"] == "theirs"  # the refused run left it alone
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_crashed_run_is_taken_over_and_released_at_the_end(spark, config, capsys):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _hold(config, host=socket.gethostname(), pid=int(ended.stdout))
    with run_lock(spark, config, "batch") as mine:
        assert json.loads(_lock_file(config).read_text())["run"] == mine["run"]
    assert "Took over the run lock of run theirs" in capsys.readouterr().out
    assert not _lock_file(config).exists()


def test_the_lock_is_released_when_the_run_fails(spark, config):
    with pytest.raises(ZeroDivisionError), run_lock(spark, config, "batch"):
        1 / 0  # noqa: B018 - the run's failure
    assert not _lock_file(config).exists()


def test_a_lock_from_another_host_holds_while_its_heartbeat_is_fresh(spark, config):
    now = datetime.now(timezone.utc)
    _hold(config, host="elsewhere", pid=1, heartbeat=now.isoformat(timespec="seconds"))
    with pytest.raises(RunLockedError, match="on host elsewhere"), run_lock(spark, config, "batch"):
        pass
    silent = now - timedelta(seconds=STALE_AFTER_SECONDS + 60)
    _hold(config, host="elsewhere", pid=1, heartbeat=silent.isoformat(timespec="seconds"))
    with run_lock(spark, config, "batch"):
        assert json.loads(_lock_file(config).read_text())["host"] == socket.gethostname()
    assert not _lock_file(config).exists()


def test_an_unreadable_lock_is_taken_over(spark, config):
    _lock_file(config).parent.mkdir(parents=True, exist_ok=True)
    _lock_file(config).write_text('{"run": "half-writ')
    with run_lock(spark, config, "batch"):
        pass
    assert not _lock_file(config).exists()
