"""One pipeline run per environment: a second run is refused naming the first; a crashed run's lock is taken over.

The holders here are real processes (a live one, one that has ended), on the machine the tests run on; a
holder on another host is a lock file naming another host, judged by its heartbeat. The driver's layer
notebooks run under the driver's lock, handed its token; here a stand-in for ``dbutils.notebook.run`` runs
each layer in-process as the notebook does.
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
from lake import fresh_lake

from fitlake import pipeline
from fitlake.config import load_config
from fitlake.pipeline.driver import LAYER_NOTEBOOKS, RUN_LOCK_TOKEN, run_layer_notebooks
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


def test_layer_runs_handed_the_drivers_token_run_under_its_lock_which_is_released_at_the_end(spark, tmp_path):
    config = fresh_lake(spark, tmp_path / "lake")
    holders = []

    def layer_notebook(path: str, timeout_seconds: int, arguments: dict) -> str:
        holders.append(json.loads(_lock_file(config).read_text())["run"])
        layer = next(layer for layer, notebook in LAYER_NOTEBOOKS.items() if notebook == path)
        summary = pipeline.run(spark, config, layers=[layer], run_lock_token=arguments[RUN_LOCK_TOKEN])
        return json.dumps(summary.as_dict())

    summary = run_layer_notebooks(spark, config, ["silver", "bronze"], layer_notebook, {"environment": "dev"})
    assert summary.layers == ["bronze", "silver"]  # in layer order, gold not chosen
    assert {table.split(".")[0] for table in summary.tables} == {"bronze", "silver"}
    assert len(set(holders)) == 1  # one lock, the driver's, held across both layers
    assert not _lock_file(config).exists()  # the layer runs left it to the driver, which released it


def test_a_failing_layer_fails_the_run_later_layers_do_not_run_and_the_lock_is_released(spark, config):
    called = []

    def layer_notebook(path: str, timeout_seconds: int, arguments: dict) -> str:
        called.append(path)
        raise RuntimeError(f"Notebook {path} failed")

    with pytest.raises(RuntimeError, match="02_bronze failed"):
        run_layer_notebooks(spark, config, list(pipeline.LAYERS), layer_notebook, {})
    assert called == [LAYER_NOTEBOOKS["bronze"]]
    assert not _lock_file(config).exists()


def test_a_run_handed_a_token_that_is_not_the_live_holders_is_refused(spark, config):
    with run_lock(spark, config, "batch") as mine:
        with pytest.raises(RunLockedError, match=f"handed the run lock of run wrong.*run {mine['run']} holds it"):
            pipeline.run(spark, config, run_lock_token="wrong")
        assert json.loads(_lock_file(config).read_text())["run"] == mine["run"]  # left to its holder
    with pytest.raises(RunLockedError, match="no run holds it"):
        pipeline.run(spark, config, run_lock_token=mine["run"])  # the driver has ended: its token is spent
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _hold(config, host=socket.gethostname(), pid=int(ended.stdout))
    with pytest.raises(RunLockedError, match="run theirs holds it, and is no longer running"):
        pipeline.run(spark, config, run_lock_token="theirs")  # a crashed driver's token
    assert json.loads(_lock_file(config).read_text())["run"] == "theirs"  # not taken over by a handed run
