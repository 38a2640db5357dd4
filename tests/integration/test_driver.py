"""The driver end to end: the README's demo through the CLI (batch), then continuous mode in-process."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from test_cli import exit_value, fitlake

from fitlake import platform
from fitlake.config import load_config
from fitlake.errors import NotebookCellError
from fitlake.expectations import check, load_manifest
from fitlake.local.executor import NotebookRuntime
from fitlake.local.layout import repo_root
from fitlake.producer import produce
from fitlake.sample.generator import shipped_sets_dir
from fitlake.tables import SCHEMAS

pytestmark = pytest.mark.integration

NOTEBOOKS = repo_root() / "notebooks"
AS_OF = load_manifest(shipped_sets_dir() / "manifest_set1.json")["age_as_of"]
WAIT_SECONDS = 420


def test_demo_batch_runs_pass_the_test_notebook_and_a_rerun_changes_nothing(tmp_path):
    demo = fitlake("demo", "--data-root", str(tmp_path))
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "All 34 expectations hold after set 1." in demo.stdout
    assert "All 35 expectations hold after set 2." in demo.stdout
    assert "=== gold.gym_summary ===" in demo.stdout

    rerun = fitlake("run", "--data-root", str(tmp_path), "--age-as-of", AS_OF)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = json.loads(exit_value(rerun.stdout))
    assert summary["tables"] and all(
        v == {"inserted": 0, "updated": 0, "deleted": 0} for v in summary["tables"].values()
    )

    out = tmp_path / "summary.csv"
    query = fitlake("sql", "--data-root", str(tmp_path), "SELECT * FROM gold.workout_bpm_summary", "--output", str(out))
    assert query.returncode == 0, query.stderr[-3000:]
    assert len(out.read_text().splitlines()) == 1 + 13  # header + one row per summarised workout


def _local_copy(source: str, target: str) -> None:
    destination = Path(target.removeprefix("file:"))
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source.removeprefix("file:"), destination)


def _local_move(source: str, target: str) -> None:
    Path(source.removeprefix("file:")).rename(target.removeprefix("file:"))


def _wait_for(spark, config, manifest_name: str) -> list:
    manifest = load_manifest(shipped_sets_dir() / manifest_name)
    deadline = time.monotonic() + WAIT_SECONDS
    mismatches = ["not checked yet"]
    while time.monotonic() < deadline:
        mismatches = check(spark, config, manifest)
        if not mismatches:
            return []
        time.sleep(5)
    return mismatches


def test_continuous_mode_picks_up_each_set_as_it_lands_and_stops_cleanly(spark, layout, tmp_path):
    for schema in SCHEMAS:
        spark.sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    shutil.rmtree(platform.storage_path(spark, "checkpoints").removeprefix("file:"), ignore_errors=True)
    landing = f"file:{tmp_path / 'landing'}"
    params = {
        "environment": "dev",
        "run_mode": "continuous",
        "processing_time": "2 seconds",
        "run_timeout_seconds": "900",
        "landing": landing,
        "age_as_of": AS_OF,
    }
    # The calendar is history: it is in the landing zone before the driver starts and loads it once.
    calendar = next((shipped_sets_dir() / "set1" / "date_lookup").iterdir())
    _local_copy(str(calendar), f"{landing}/date_lookup/{calendar.name}")
    # The landing zone lies outside the data root: dbutils.fs may change it because the caller says so.
    runtime = NotebookRuntime(spark, layout, echo=False, fs_roots=(tmp_path / "landing",))
    outcome: dict = {}

    def drive() -> None:
        try:
            outcome["result"] = runtime.run(NOTEBOOKS / "05_driver.py", params)
        except BaseException as error:  # noqa: BLE001 - reported by the assertions below
            outcome["error"] = error

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    config = load_config(spark, "dev", landing=landing, age_as_of=AS_OF)
    try:
        _wait_until_streaming(spark, driver)
        produce(shipped_sets_dir() / "set1", landing, _local_copy, _local_move)
        assert _wait_for(spark, config, "manifest_set1.json") == []
        produce(shipped_sets_dir() / "set2", landing, _local_copy, _local_move)
        assert _wait_for(spark, config, "manifest_set2.json") == []
    finally:
        for query in spark.streams.active:
            query.stop()
        driver.join(120)
    assert not driver.is_alive()
    assert "error" not in outcome, outcome.get("error")
    summary = json.loads(outcome["result"].exit_value)
    assert summary["mode"] == "continuous" and summary["stopped_by"] == "queries stopped"


def test_the_test_notebook_names_table_expected_and_actual(spark, layout, tmp_path):
    """Runs after the continuous test has left set 1 + 2 in the tables; a wrong manifest must fail."""
    sets = tmp_path / "sets"
    shutil.copytree(shipped_sets_dir(), sets)
    manifest = json.loads((sets / "manifest_set2.json").read_text())
    manifest["tables"]["silver.users"] += 1
    (sets / "manifest_set2.json").write_text(json.dumps(manifest))
    runtime = NotebookRuntime(spark, layout, echo=False)
    params = {"environment": "dev", "set": "2", "set_dir": str(sets), "age_as_of": AS_OF}
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(NOTEBOOKS / "07_test.py", params)
    expected = manifest["tables"]["silver.users"]
    assert f"silver.users: row count: expected {expected}, actual {expected - 1}" in str(failure.value)


def _wait_until_streaming(spark, driver: threading.Thread) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and driver.is_alive():
        if len(spark.streams.active) >= 12:
            return
        time.sleep(1)
    raise AssertionError("the driver did not start its streams")
