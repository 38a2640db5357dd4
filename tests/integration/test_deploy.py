"""``fitlake deploy`` end to end, offline: the real legacy databricks CLI and the deploy script, each a
separate process, against the workspace stand-in (``tests/workspace_standin.py``, a documented test double:
no Databricks workspace is reachable from here)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from nbhelpers import repo_notebooks
from workspace_standin import WorkspaceStandIn

from fitlake.config import ENVIRONMENTS
from fitlake.deployment.jobs import integration_test_job_name, pipeline_job_name, render_jobs
from fitlake.deployment.legacy_cli import NO_HANDOVER_ENV_VAR
from fitlake.deployment.wheel import build_wheel

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FOLDER = "/Workspace/Shared/fitlake/{env}"
# Just over the 1 MB the legacy CLI takes as the sign of the newer CLI (databricks_cli/cli.py).
NEWER_CLI_SIZE = 1024 * 1024 + 1


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(ROOT, tmp_path_factory.mktemp("dist"))


@pytest.fixture
def workspace() -> WorkspaceStandIn:
    with WorkspaceStandIn() as standin:
        yield standin


@pytest.fixture
def newer_cli(tmp_path: Path) -> tuple[Path, Path]:
    """Test double of the newer Go ``databricks`` CLI: a script big enough for the legacy CLI's hand-over
    heuristic, first on PATH, that records every call. Returns (its folder, the record file)."""
    folder, record = tmp_path / "newer-cli", tmp_path / "newer-cli-called"
    folder.mkdir()
    script = folder / "databricks"
    body = f'#!/bin/sh\necho "$@" >> "{record}"\necho \'{{"Version": "0.250.0"}}\'\n'
    script.write_text(body + "#" * (NEWER_CLI_SIZE - len(body)) + "\n")
    script.chmod(0o755)
    return folder, record


def client_env(workspace: WorkspaceStandIn, newer_cli: tuple[Path, Path]) -> dict[str, str]:
    environment = {**os.environ, **workspace.client_environment()}
    environment["PATH"] = f"{newer_cli[0]}{os.pathsep}{environment['PATH']}"
    environment.pop(NO_HANDOVER_ENV_VAR, None)  # the deploy script must set it itself
    return environment


def deploy(workspace: WorkspaceStandIn, newer_cli: tuple[Path, Path], wheel: Path, env: str, *extra: str):
    command = [str(BIN / "fitlake"), "deploy", "--environment", env, "--wheel", str(wheel), "--poll-seconds", "0.01"]
    result = subprocess.run(
        [*command, *extra], cwd=ROOT, env=client_env(workspace, newer_cli), capture_output=True, text=True, timeout=120
    )
    assert not newer_cli[1].exists(), f"the newer CLI was called: {newer_cli[1].read_text()}"
    return result


def snapshot(workspace: WorkspaceStandIn) -> tuple[dict, dict]:
    state = workspace.state
    objects = {
        path: (obj["object_type"], obj.get("language"), obj.get("format"), obj.get("content"))
        for path, obj in state.objects.items()
    }
    jobs = {job_id: job["settings"] for job_id, job in state.jobs.items()}
    return objects, jobs


def expected_notebooks(env: str) -> dict[str, Path]:
    folder = FOLDER.format(env=env)
    return {f"{folder}/{path.relative_to(ROOT).with_suffix('').as_posix()}": path for path in repo_notebooks()}


def test_every_notebook_is_imported_as_python_source_and_nothing_else_is(workspace, newer_cli, wheel) -> None:
    result = deploy(workspace, newer_cli, wheel, "dev")
    assert result.returncode == 0, result.stderr
    expected = expected_notebooks("dev")
    assert len(expected) >= 12
    notebooks = workspace.state.notebooks()
    assert set(notebooks) == set(expected)  # in particular no module of the fitlake package
    for path, source in expected.items():
        assert notebooks[path]["language"] == "PYTHON" and notebooks[path]["format"] == "SOURCE", path
        assert notebooks[path]["content"] == source.read_bytes(), path
    assert not any("/fitlake/dev/fitlake" in path for path in workspace.state.objects)


def test_the_wheel_arrives_as_a_workspace_file_with_the_package_and_config(workspace, newer_cli, wheel) -> None:
    assert deploy(workspace, newer_cli, wheel, "dev").returncode == 0
    files = workspace.state.files()
    assert set(files) == {f"{FOLDER.format(env='dev')}/wheels/{wheel.name}"}
    (uploaded,) = files.values()
    assert uploaded["content"] == wheel.read_bytes()
    with zipfile.ZipFile(BytesIO(uploaded["content"])) as archive:
        names = set(archive.namelist())
    assert {"fitlake/__init__.py", "fitlake/config.py", "fitlake/pipeline/flow.py"} <= names
    assert {f"fitlake/_config/{env}.toml" for env in ENVIRONMENTS} <= names


def test_a_second_deploy_overwrites_resets_the_jobs_and_leaves_the_same_state(workspace, newer_cli, wheel) -> None:
    assert deploy(workspace, newer_cli, wheel, "dev").returncode == 0
    first = snapshot(workspace)
    workspace.state.calls.clear()
    second_run = deploy(workspace, newer_cli, wheel, "dev")
    assert second_run.returncode == 0, second_run.stderr
    assert snapshot(workspace) == first
    assert len(workspace.state.jobs) == 2
    assert ("POST", "/api/2.1/jobs/reset") in workspace.state.calls
    assert ("POST", "/api/2.1/jobs/create") not in workspace.state.calls


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_are_created_once_with_the_environments_parameters(workspace, newer_cli, wheel, env: str) -> None:
    assert deploy(workspace, newer_cli, wheel, env).returncode == 0
    by_name = {job["settings"]["name"]: job["settings"] for job in workspace.state.jobs.values()}
    assert by_name == render_jobs(env)
    pipeline = by_name[pipeline_job_name(env)]
    assert {p["name"]: p["default"] for p in pipeline["parameters"]}["environment"] == env
    assert pipeline["tasks"][0]["notebook_task"]["notebook_path"] == f"{FOLDER.format(env=env)}/notebooks/05_driver"
    assert ("POST", "/api/2.1/jobs/create") in workspace.state.calls


def test_a_passing_integration_test_run_passes_the_deploy(workspace, newer_cli, wheel) -> None:
    result = deploy(workspace, newer_cli, wheel, "dev", "--run-integration-test")
    assert result.returncode == 0, result.stderr
    (run,) = workspace.state.runs.values()
    assert workspace.state.jobs[run["job_id"]]["settings"]["name"] == integration_test_job_name("dev")
    assert f"Integration test passed: {run['run_page_url']}" in result.stdout


def test_a_failing_integration_test_run_fails_the_deploy_with_url_and_state(workspace, newer_cli, wheel) -> None:
    workspace.fail_runs("test_set1", "AssertionError: 2 of 41 expectations failed")
    result = deploy(workspace, newer_cli, wheel, "qa", "--run-integration-test")
    assert result.returncode == 1
    (run,) = workspace.state.runs.values()
    assert "DEPLOY FAILED (qa)" in result.stderr
    assert f"Run page: {run['run_page_url']}" in result.stderr
    assert "life_cycle_state=TERMINATED, result_state=FAILED" in result.stderr
    assert "AssertionError: 2 of 41 expectations failed" in result.stderr
    assert "task test_set1: " in result.stderr and "task run_set2: " in result.stderr  # and what it skipped


def test_two_jobs_of_one_name_stop_the_deploy_instead_of_guessing(workspace, newer_cli, wheel) -> None:
    settings = render_jobs("dev")[pipeline_job_name("dev")]
    for job_id in (901, 902):
        workspace.state.jobs[job_id] = {"job_id": job_id, "settings": settings, "created_time": job_id}
    result = deploy(workspace, newer_cli, wheel, "dev")
    assert result.returncode == 1
    assert "2 jobs are named fitlake-dev (ids 901, 902)" in result.stderr
    assert len(workspace.state.jobs) == 2


def test_the_newer_cli_double_is_what_the_legacy_cli_would_hand_over_to(workspace, newer_cli) -> None:
    """Control for the assertion in ``deploy``: without the variable, the legacy CLI does exec the double."""
    result = subprocess.run(
        [str(BIN / "databricks"), "workspace", "ls", "/"],
        env=client_env(workspace, newer_cli),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert newer_cli[1].read_text().splitlines() == ["version --output json", "workspace ls /"]
    assert workspace.state.calls == []
