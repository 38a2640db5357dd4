"""The `fitlake` CLI end to end, each call in its own process, as the README and CI use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nbhelpers import write_notebook
from waiting import HANG_GUARD_SECONDS

from fitlake import pipeline
from fitlake.config import load_config
from fitlake.local.layout import DATA_ROOT_ENV_VAR, LocalLayout, repo_root
from fitlake.local.run_page import RunPage
from fitlake.pipeline.flow import waits_for
from fitlake.sample import spec
from fitlake.tables import setup_objects

pytestmark = pytest.mark.integration

DEMO = repo_root() / "notebooks" / "examples" / "foundation_demo.py"


def fitlake(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fitlake.cli", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,  # a hang guard on its exit: the demo's two pipeline runs are slow on a busy machine
        env={**os.environ, **(env or {})},
    )


def exit_value(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("Exit value: "))[len("Exit value: ") :]


def run_summary(stdout: str) -> Path:
    """The summary.json of a ``fitlake run``, whose path it prints (the JSON itself stays off the console)."""
    return Path(next(line for line in stdout.splitlines() if line.startswith("Summary (JSON): "))[16:])


def test_demo_notebook_runs_and_rerunning_changes_nothing(tmp_path):
    first = fitlake("notebook", str(DEMO), "--data-root", str(tmp_path))
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads(exit_value(first.stdout)) == {"table": "fitlake_demo.demo_heart_rate", "rows": 4}
    assert "| 2         | 2023-11-14 22:13:20 | 90.0" in first.stdout  # the newer correction won
    record = Path(next(line for line in first.stdout.splitlines() if line.startswith("Run record: "))[12:])
    assert record.parent == tmp_path / "dev" / "runs"
    assert {p.name for p in record.iterdir()} == {
        "foundation_demo.ipynb",
        "foundation_demo.html",
        "index.html",
        "run.json",
    }
    assert f"Run page: {record / 'index.html'}" in first.stdout

    again = fitlake("notebook", str(DEMO), "--data-root", str(tmp_path))
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(exit_value(again.stdout))["rows"] == 4
    assert (LocalLayout(tmp_path, "dev").table_folder("fitlake_demo", "demo_heart_rate") / "_delta_log").is_dir()


def test_params_env_and_data_root_from_the_environment(tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        "dbutils.widgets.text('greeting', 'hello')\n"
        "dbutils.notebook.exit(dbutils.widgets.get('greeting') + ' ' + spark.conf.get('spark.fitlake.local.env'))",
    )
    result = fitlake(
        "notebook", str(nb), "-p", "greeting=bonjour", "--env", "qa", env={DATA_ROOT_ENV_VAR: str(tmp_path / "root")}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert exit_value(result.stdout) == "bonjour qa"
    assert (tmp_path / "root" / "qa" / "runs").is_dir()
    assert not (tmp_path / "root" / "dev").exists()


def test_a_failing_cell_exits_non_zero_naming_notebook_and_cell(tmp_path):
    nb = write_notebook(tmp_path / "broken.py", "x = 1", "raise ValueError('bad input')")
    result = fitlake("notebook", str(nb), "--data-root", str(tmp_path))
    assert result.returncode == 1
    assert f"FAILED: {nb}, cell 2" in result.stderr
    assert "ValueError: bad input" in result.stderr
    assert "Run record: " in result.stdout


def test_a_malformed_parameter_is_a_clear_error(tmp_path):
    result = fitlake("notebook", str(DEMO), "-p", "novalue", "--data-root", str(tmp_path))
    assert result.returncode == 2
    assert "must look like name=value" in result.stderr


def test_generate_writes_sets_and_manifests(tmp_path):
    result = fitlake("generate", str(tmp_path / "sets"), "--users", "14", "--days", "2", "--seed", "11")
    assert result.returncode == 0, result.stderr[-3000:]
    for set_no in spec.SETS:
        assert spec.set_folder(tmp_path / "sets", set_no).is_dir()
        assert spec.manifest_path(tmp_path / "sets", set_no).is_file()
    assert json.loads(spec.manifest_path(tmp_path / "sets", 2).read_text())["spec"]["users"] == 14


def _started_after_their_inputs(lines: list[str], waits: dict[str, tuple[str, ...]]) -> None:
    """Each flow is started once, on a ``start`` line after the batch lines of every flow it waits for."""
    started = {
        name: index
        for index, line in enumerate(lines)
        if line.startswith("start ") and "(" in line
        for name in line.split("(", 1)[1].split(")")[0].split(", ")
    }
    assert sorted(started) == sorted(waits), lines
    ended = {line.split()[0]: index for index, line in enumerate(lines) if line.split()[1:2] == ["batch"]}
    for flow, inputs in waits.items():
        assert all(ended[name] < started[flow] for name in inputs), (flow, inputs, lines)


def test_produce_lands_a_set_then_run_shows_progress_and_one_summary_table(spark, tmp_path):
    result = fitlake("produce", "--set", "1", "--data-root", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    landing = LocalLayout(tmp_path, "dev").landing
    assert sorted(p.name for p in landing.iterdir()) == [
        "date_lookup",
        "gym_logins",
        "kafka_multiplex",
        "registered_users",
    ]
    assert not list(landing.rglob(".*")), "no half-copied hidden files are left behind"

    run = fitlake("run", "--data-root", str(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    console = run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert f"0 of {len(setup_objects())} schemas, tables and views present, {len(setup_objects())} created" in console
    assert "CREATE TABLE" not in console
    _started_after_their_inputs(lines, waits_for(pipeline.FLOWS, load_config(spark, "dev")))
    assert any(line.split()[:2] == ["gold.workout_bpm_summary", "batch"] for line in lines)
    headers = [
        line for line in lines if line.split() == ["table", "inserted", "updated", "deleted", "quarantined", "seconds"]
    ]
    assert len(headers) == 1  # the summary table, once
    assert '"mode"' not in console  # the JSON summary is in a file, not on the console
    summary_file = run_summary(run.stdout)
    summary = json.loads(summary_file.read_text())
    assert summary["mode"] == "batch" and summary["skipped"] == []
    assert summary_file.parent == Path(next(line for line in lines if line.startswith("Run record: "))[12:])
    total = next(line for line in lines if line.startswith("total "))
    inserted = sum(table["inserted"] for table in summary["tables"].values())
    assert total.split()[1] == f"{inserted:,}"
    # The run page: the driver, its setup children, then one child per layer, each with its layer's summary.
    page = RunPage.read(summary_file.parent)
    names = ["05_driver", "01-01_schemas_and_tables", "02-02_history_loader", "03-02_bronze", "04-03_silver"]
    assert [row.name for row in page.rows] == [*names, "05-04_gold"]
    assert all(row.state == "SUCCESS" for row in page.rows) and page.state == "SUCCESS"
    layers = [json.loads(row.exit_value) for row in page.rows[3:]]
    assert [layer["layers"] for layer in layers] == [["bronze"], ["silver"], ["gold"]]
    assert {table: counts for layer in layers for table, counts in layer["tables"].items()} == summary["tables"]
    assert json.loads(page.rows[0].exit_value) == summary


def test_db_load_then_extract_lands_each_row_once_through_the_cli(tmp_path):
    loaded = fitlake("db", "load", "--set", "1", "--data-root", str(tmp_path))
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "12 registrations inserted" in loaded.stdout

    first = fitlake("extract", "--data-root", str(tmp_path))
    assert first.returncode == 0, first.stderr[-3000:]
    landing = LocalLayout(tmp_path, "dev").landing
    (registrations,) = (landing / "registered_users").glob("*.csv")
    lines = registrations.read_text().splitlines()
    assert lines[0] == "user_id,device_id,mac_address,registration_timestamp" and len(lines) == 1 + 12
    assert len(list((landing / "gym_logins").glob("*.csv"))) == 1

    again = fitlake("extract", "--data-root", str(tmp_path))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 increment(s) landed" in again.stdout
    assert len(list(landing.rglob("*.csv"))) == 2
