"""The deploy script behind ``fitlake deploy``: one environment, idempotent, for CI and for people.

Steps: import ``notebooks/`` and ``setup/`` into ``<workspace_folder>/`` with the legacy CLI's
``workspace import_dir -o`` (notebook files only, staged first, so nothing else turns into a notebook);
upload the fitlake wheel to ``<workspace_folder>/wheels/``; create each job, or reset it when a job of that
name exists (never a second one); optionally run the integration-test job and wait for it, failing with
the run's page URL and state.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fitlake.deployment import DeploymentError
from fitlake.deployment.jobs import integration_test_job_name, render_jobs, wheel_name, wheel_workspace_path
from fitlake.deployment.legacy_cli import LegacyCli, credentials_from_environment, legacy_cli_path
from fitlake.deployment.wheel import build_wheel
from fitlake.deployment.workspace import import_file
from fitlake.errors import ConfigError
from fitlake.governance import Deployment, load_deployment

NOTEBOOK_FOLDERS = ("notebooks", "setup")
NOTEBOOK_HEADERS = {".py": "# Databricks notebook source", ".sql": "-- Databricks notebook source"}
TERMINAL_STATES = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
Say = Callable[[str], None]


@dataclass(frozen=True)
class DeployOptions:
    environment: str
    repo: Path
    wheel: Path | None = None  # None: build it from the repo
    run_integration_test: bool = False
    wait_minutes: float = 60
    poll_seconds: float = 30


def deploy(options: DeployOptions, say: Say = print) -> dict[str, int]:
    """Deploy ``options.environment``; returns job name -> job id. Raises ``DeploymentError`` on failure."""
    deployment = load_deployment(options.environment)
    cli = LegacyCli(credentials_from_environment(), legacy_cli_path())
    with tempfile.TemporaryDirectory(prefix="fitlake-deploy-") as scratch:
        for folder in NOTEBOOK_FOLDERS:
            staged = stage_notebooks(options.repo / folder, Path(scratch) / folder)
            cli.run("workspace", "import_dir", "-o", str(staged), f"{deployment.workspace_folder}/{folder}")
            say(f"Imported {folder}/ to {deployment.workspace_folder}/{folder}")
        wheel = options.wheel or build_wheel(options.repo, Path(scratch) / "dist")
        _upload_wheel(cli, deployment, wheel)
        say(f"Uploaded {wheel.name} to {wheel_workspace_path(deployment)}")
        job_ids = {}
        for name, settings in render_jobs(options.environment).items():
            job_ids[name] = create_or_reset(cli, name, settings, Path(scratch))
            say(f"Job {name}: id {job_ids[name]}")
    if options.run_integration_test:
        name = integration_test_job_name(options.environment)
        run = run_and_wait(cli, job_ids[name], options.wait_minutes, options.poll_seconds, say)
        say(f"Integration test passed: {run.get('run_page_url', '')}")
    return job_ids


def stage_notebooks(source: Path, staged: Path) -> Path:
    """Copy the notebook files under ``source`` to ``staged``; refuse a .py/.sql that is not a notebook.

    ``import_dir`` imports every .py/.sql/.scala/.r file as a notebook, so only files that are notebooks
    (Databricks source header) may reach it; caches and other files are left behind.
    """
    if not source.is_dir():
        raise ConfigError(f"{source} is missing: deploy from the root of a fitlake checkout.")
    for path in sorted(source.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file() or path.suffix not in NOTEBOOK_HEADERS:
            continue
        if not path.read_text(encoding="utf-8").startswith(NOTEBOOK_HEADERS[path.suffix]):
            raise ConfigError(
                f"{path} is not a Databricks source notebook (its first line must be "
                f"'{NOTEBOOK_HEADERS[path.suffix]}'): shared code belongs in the fitlake package."
            )
        target = staged / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    staged.mkdir(parents=True, exist_ok=True)
    return staged


def checkout_notebook(workspace_path: str, deployment: Deployment, repo: Path) -> Path:
    """The file of the checkout at ``repo`` that ``deploy`` imports to ``workspace_path``: the import, inverted.

    ``<workspace_folder>/<folder>/<path>`` (``folder`` one of ``NOTEBOOK_FOLDERS``) comes from
    ``<repo>/<folder>/<path>.py`` or ``.sql``.

    Raises:
        ConfigError: the path is not under a folder deploy imports, or the checkout has no such notebook.
    """
    prefix = f"{deployment.workspace_folder}/"
    relative = workspace_path.removeprefix(prefix) if workspace_path.startswith(prefix) else None
    parts = relative.split("/") if relative else []
    imported = [f"{prefix}{folder}/" for folder in NOTEBOOK_FOLDERS]
    if not parts or parts[0] not in NOTEBOOK_FOLDERS or any(part in ("", ".", "..") for part in parts):
        raise ConfigError(
            f"Notebook path {workspace_path!r} is not one that fitlake deploy imports for {deployment.environment} "
            f"(paths under {' or '.join(imported)}), so it maps to no notebook of this checkout."
        )
    for suffix in NOTEBOOK_HEADERS:
        candidate = repo.joinpath(*parts[:-1], parts[-1] + suffix)
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"Notebook path {workspace_path!r} would be {relative}.py or .sql of this checkout, and neither exists."
    )


def create_or_reset(cli: LegacyCli, name: str, settings: dict[str, Any], scratch: Path) -> int:
    """The id of the job named ``name``, reset to ``settings``; created when no job has that name."""
    listed = cli.jobs("jobs", "list", "--output", "JSON", "--all", "--name", name).get("jobs", [])
    # The name filter is case-insensitive on the server; the job must match exactly.
    matches = sorted(job["job_id"] for job in listed if job.get("settings", {}).get("name") == name)
    if len(matches) > 1:
        raise DeploymentError(
            f"{len(matches)} jobs are named {name} (ids {', '.join(map(str, matches))}): delete all but one in the "
            "workspace (Workflows), then deploy again."
        )
    settings_file = scratch / f"{name}.json"
    settings_file.write_text(json.dumps(settings))
    if matches:
        cli.jobs("jobs", "reset", "--job-id", str(matches[0]), "--json-file", str(settings_file), prints_json=False)
        return matches[0]
    return int(cli.jobs("jobs", "create", "--json-file", str(settings_file))["job_id"])


def run_and_wait(cli: LegacyCli, job_id: int, wait_minutes: float, poll_seconds: float, say: Say) -> dict[str, Any]:
    """Start the job, poll the run until it ends; the run, or a ``DeploymentError`` saying how it ended."""
    run_id = cli.jobs("jobs", "run-now", "--job-id", str(job_id))["run_id"]
    deadline = time.monotonic() + wait_minutes * 60
    while True:
        run = cli.jobs("runs", "get", "--run-id", str(run_id))
        state = run.get("state", {})
        if state.get("life_cycle_state") in TERMINAL_STATES:
            break
        if time.monotonic() >= deadline:
            raise DeploymentError(
                f"Run {run_id} of job {job_id} did not finish within {wait_minutes:g} minutes "
                f"({_state_text(state)}); it goes on: {run.get('run_page_url', '')} (cancel it there if needed)."
            )
        say(f"Run {run_id}: {state.get('life_cycle_state', '?')}")
        time.sleep(poll_seconds)
    if state.get("result_state") != "SUCCESS":
        raise DeploymentError(failure_message(run))
    return run


def failure_message(run: dict[str, Any]) -> str:
    """What failed, where to look: the run's page, its states and message, and each task that did not pass."""
    lines = [
        f"Integration-test run {run.get('run_id')} failed: {_state_text(run.get('state', {}))}",
        f"Run page: {run.get('run_page_url', '(no URL returned)')}",
    ]
    for task in run.get("tasks", []):
        task_state = task.get("state", {})
        if task_state.get("result_state") not in (None, "SUCCESS"):
            lines.append(f"  task {task.get('task_key')}: {_state_text(task_state)} {task.get('run_page_url', '')}")
    return "\n".join(lines)


def _state_text(state: dict[str, Any]) -> str:
    text = f"life_cycle_state={state.get('life_cycle_state')}, result_state={state.get('result_state')}"
    return f"{text}, state_message={state['state_message']!r}" if state.get("state_message") else text


def _upload_wheel(cli: LegacyCli, deployment: Deployment, wheel: Path) -> None:
    if wheel.name != wheel_name():
        raise ConfigError(f"{wheel} is not {wheel_name()}, the wheel the jobs install: rebuild it from this checkout.")
    folder = wheel_workspace_path(deployment).rsplit("/", 1)[0]
    cli.run("workspace", "mkdirs", folder)
    import_file(cli.credentials, wheel, wheel_workspace_path(deployment))
