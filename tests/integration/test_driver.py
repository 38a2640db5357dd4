"""The driver end to end: the README's demo (the integration-test job) through the CLI, then continuous mode
in-process."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from test_cli import fitlake, run_summary
from waiting import wait_for

from fitlake import platform
from fitlake.config import PipelineConfig, load_config
from fitlake.contract import DATE_LOOKUP
from fitlake.deployment.jobs import REVIEWED_JOBS, integration_test_job_name
from fitlake.errors import NotebookCellError
from fitlake.local.executor import NotebookRuntime
from fitlake.local.layout import LocalLayout, repo_root
from fitlake.local.run_page import RunPage
from fitlake.pipeline import FLOWS
from fitlake.sample.expectations import check, compare_tables, load_expected, load_manifest, not_compared_in_full
from fitlake.sample.generator import shipped_age_as_of, shipped_sets, shipped_sets_dir
from fitlake.sample.producer import produce
from fitlake.sample.spec import expected_folder, manifest_path
from fitlake.tables import SCHEMAS

pytestmark = pytest.mark.integration

NOTEBOOKS = repo_root() / "notebooks"
AS_OF = shipped_age_as_of()


def test_demo_runs_the_integration_test_job_then_a_rerun_changes_nothing(tmp_path):
    """make demo: the JSON that deploys to Databricks, run locally (producer -> driver -> test, for set 1 then
    set 2), every task succeeding, then the gold tables; a batch run after it finds nothing to do."""
    name = integration_test_job_name("dev")
    definition = json.loads((repo_root() / REVIEWED_JOBS / f"{name}.json").read_text())
    keys = [task["task_key"] for task in definition["tasks"]]
    demo = fitlake("demo", "--data-root", str(tmp_path))
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    cells = [line.split("|") for line in demo.stdout.splitlines() if line.startswith("| ")]
    rows = {cell[1].strip(): cell[2].strip() for cell in cells}
    assert {key: rows.get(key) for key in keys} == dict.fromkeys(keys, "SUCCESS")
    assert re.search(rf"^Job {name} \(run \d+\): SUCCESS in [\d.]+ s$", demo.stdout, re.MULTILINE), demo.stdout[-3000:]
    # 07_test's own verdicts: bronze's row counts, then every silver and gold table in full, after each set.
    assert "All 4 expectations hold after set 1." in demo.stdout
    assert "All 4 expectations hold after set 2." in demo.stdout
    assert demo.stdout.count("All 13 silver and gold tables hold exactly their expected rows.") == 2
    assert "silver.heart_rate: 1845 rows expected, 1845 found: equal" in demo.stdout  # row counts, reported
    assert len([line for line in demo.stdout.splitlines() if line.startswith("Run record: ")]) == len(keys)
    assert "=== gold.gym_summary ===" in demo.stdout
    job_page_path = Path(demo.stdout.rstrip().splitlines()[-1].removeprefix("Job run page: "))  # the demo's last line
    job_page = RunPage.read(job_page_path.parent)
    assert (job_page.state, [row.name for row in job_page.rows]) == ("SUCCESS", keys)
    assert all(RunPage.read(job_page_path.parent / row.href.split("/")[0]).state == "SUCCESS" for row in job_page.rows)
    # The last task drew the gold outputs: its page, printed last, holds the three charts as embedded PNGs.
    (charts_line,) = [line for line in demo.stdout.splitlines() if line.startswith("The gold outputs as charts: ")]
    page = Path(charts_line.removeprefix("The gold outputs as charts: "))
    assert page.name == "09_dashboard.html" and page.is_file(), demo.stdout[-1000:]
    assert page.read_text().count('src="data:image/png;base64,') == 3
    charts = [line for line in demo.stdout.splitlines() if line.startswith("<figure: ")]
    assert charts == [
        "<figure: Heart rate per workout, by age bin and gender>",
        "<figure: Minutes in the gym against minutes exercising, per gym and day>",
        "<figure: Completed workouts per day>",
    ]

    rerun = fitlake("run", "--data-root", str(tmp_path), "--age-as-of", AS_OF)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = json.loads(run_summary(rerun.stdout).read_text())
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


def test_continuous_mode_picks_up_each_set_as_it_lands_and_stops_cleanly(spark, layout, tmp_path):
    for schema in SCHEMAS:
        spark.sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    shutil.rmtree(platform.storage_path(spark, platform.CHECKPOINTS_FOLDER).removeprefix("file:"), ignore_errors=True)
    landing = f"file:{tmp_path / 'landing'}"
    params = {
        "environment": "dev",
        "run_mode": "continuous",
        "processing_time": "2 seconds",  # no run_timeout_seconds: the test stops the streams itself
        "landing": landing,
        "age_as_of": AS_OF,
    }
    # The calendar is history: it is in the landing zone before the driver starts and loads it once.
    calendar = next((shipped_sets()[0] / DATE_LOOKUP.name).iterdir())
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
    driver_ended = _ended(driver, outcome)
    try:
        wait_for(lambda: len(spark.streams.active) >= len(FLOWS), "the start of every flow's stream", gone=driver_ended)
        produce(shipped_sets()[0], landing, _local_copy, _local_move)
        _wait_for_set(spark, config, 1, driver_ended)
        produce(shipped_sets()[1], landing, _local_copy, _local_move)
        _wait_for_set(spark, config, 2, driver_ended)
    finally:
        _stop(spark, driver)
    assert "error" not in outcome, outcome.get("error")
    summary = json.loads(outcome["result"].exit_value)
    assert summary["mode"] == "continuous" and summary["stopped_by"] == "queries stopped"

    # The tables now hold sets 1 and 2, built by this test: the state the next step needs.
    _the_test_notebook_names_what_differs(spark, layout, tmp_path)


def _ended(driver: threading.Thread, outcome: dict) -> Callable[[], str | None]:
    """wait_for's ``gone``: once the driver has ended, nothing it should do can happen any more."""

    def reason() -> str | None:
        return None if driver.is_alive() else f"the driver ended: {outcome}"

    return reason


def _wait_for_set(
    spark: SparkSession, config: PipelineConfig, upto_set: int, driver_ended: Callable[[], str | None]
) -> None:
    """Until the tables hold what sets 1..``upto_set`` must give, as the test notebook checks it (an event: the
    streams have caught up): bronze's row counts, every silver and gold table in full; checked every 5 s."""
    expected = load_expected(shipped_sets_dir(), upto_set)
    manifest = not_compared_in_full(load_manifest(manifest_path(shipped_sets_dir(), upto_set)), expected)
    problems: list = []

    def holds() -> bool:
        differing = [c for c in compare_tables(spark, config, expected) if not c.equal]
        problems[:] = [*check(spark, config, manifest), *differing]
        return not problems

    wait_for(
        holds,
        f"the tables' match with the expected state after set {upto_set}",
        gone=driver_ended,
        state=lambda: "\n".join(map(str, problems)),
        poll_seconds=5,
    )


def _stop(spark: SparkSession, driver: threading.Thread) -> None:
    """Stop the driver's streams until it returns (it may still be starting some when a wait has failed)."""

    def driver_returned() -> bool:
        for query in spark.streams.active:
            query.stop()
        return not driver.is_alive()

    wait_for(driver_returned, "the driver's return once its streams are stopped", poll_seconds=1)


def _the_test_notebook_names_what_differs(spark: SparkSession, layout: LocalLayout, tmp_path: Path) -> None:
    """After sets 1 and 2, the test notebook fails on expected rows with one changed row and a manifest with one
    wrong bronze row count: it names the table with the row it misses and the row it found instead, and the
    count with its expected and actual value; nothing else (every other expectation holds)."""
    sets = tmp_path / "sets"
    shutil.copytree(shipped_sets_dir(), sets)
    manifest = json.loads(manifest_path(sets, 2).read_text())
    manifest["tables"]["bronze.gym_logins_bz"] += 1
    manifest_path(sets, 2).write_text(json.dumps(manifest))
    users = expected_folder(sets, 2) / "silver.users.jsonl"
    header, first, *others = users.read_text().splitlines()
    user_id, device_id, *_ = changed = json.loads(first)
    changed[1] += 1  # another device than the one registered
    users.write_text("\n".join([header, json.dumps(changed), *others]) + "\n")
    runtime = NotebookRuntime(spark, layout, echo=False)
    params = {"environment": "dev", "set": "2", "set_dir": str(sets), "age_as_of": AS_OF}
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(NOTEBOOKS / "07_test.py", params)
    message = str(failure.value)
    count = manifest["tables"]["bronze.gym_logins_bz"]
    assert f"bronze.gym_logins_bz: row count: expected {count}, actual {count - 1}" in message
    assert re.search(r"AssertionError: 1 of \d+ expectations failed", message), message
    rows = 1 + len(others)
    differs = f"1 of 13 tables differ from their expected rows:\nsilver.users: {rows} rows expected, {rows} found: "
    assert differs + "1 missing, 1 extra" in message
    assert f"  missing: {{'user_id': {user_id}, 'device_id': {device_id + 1}, " in message
    assert f"  extra:   {{'user_id': {user_id}, 'device_id': {device_id}, " in message
