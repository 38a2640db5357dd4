"""Job definitions: rendered per environment, equal to the reviewed files in pipelines/jobs/, accepted by
databricks-sdk's Jobs API model without losing a field, and in step with the notebooks' widgets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from databricks.sdk.service.jobs import JobSettings

from fitlake.config import ENVIRONMENTS
from fitlake.deployment import jobs
from fitlake.deployment.wheel import build_wheel, cluster_pyproject

ROOT = Path(__file__).resolve().parents[2]
JOBS_DIR = ROOT / jobs.REVIEWED_JOBS
UPDATE_GOLDEN = "FITLAKE_UPDATE_GOLDEN"
_WIDGET = re.compile(r'dbutils\.widgets\.\w+\(\s*"(?P<name>\w+)",\s*"(?P<default>[^"]*)"')


def widgets(*notebooks: str) -> dict[str, str]:
    """Widget name -> default, as declared in the notebooks' source."""
    found: dict[str, str] = {}
    for notebook in notebooks:
        for match in _WIDGET.finditer((ROOT / notebook).read_text()):
            found[match["name"]] = match["default"]
    return found


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_rendered_jobs_equal_the_reviewed_files(environment: str) -> None:
    for name, settings in jobs.render_jobs(environment).items():
        golden = JOBS_DIR / f"{name}.json"
        if os.environ.get(UPDATE_GOLDEN) == "1":
            golden.write_text(jobs.to_json(settings))
        assert golden.is_file(), f"{golden} is missing: run with {UPDATE_GOLDEN}=1 and review the new file"
        assert jobs.to_json(settings) == golden.read_text(), (
            f"{name} differs from {golden}: if the change is intended, run with {UPDATE_GOLDEN}=1 and review the diff"
        )


def test_no_reviewed_file_is_left_over_from_a_removed_job() -> None:
    expected = {f"{name}.json" for env in ENVIRONMENTS for name in jobs.render_jobs(env)}
    assert {path.name for path in JOBS_DIR.glob("*.json")} == expected


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_jobs_round_trip_through_the_sdk_model_losing_nothing(environment: str) -> None:
    for settings in jobs.render_jobs(environment).values():
        assert JobSettings.from_dict(settings).as_dict() == settings


def test_the_sdk_round_trip_does_catch_a_misspelt_field() -> None:
    settings = {**jobs.render_jobs("dev")["fitlake-dev"], "max_concurent_runs": 1}
    assert JobSettings.from_dict(settings).as_dict() != settings


def test_pipeline_job_parameters_are_the_driver_widgets_with_their_defaults() -> None:
    declared = widgets("notebooks/01_config.py", "notebooks/05_driver.py")
    for environment in ENVIRONMENTS:
        settings = jobs.render_jobs(environment)[jobs.pipeline_job_name(environment)]
        parameters = {p["name"]: p["default"] for p in settings["parameters"]}
        hosts = set(jobs.HOST_WIDGETS)
        assert parameters == {**{k: v for k, v in declared.items() if k not in hosts}, "environment": environment}
        (task,) = settings["tasks"]
        assert task["notebook_task"]["notebook_path"] == f"/Workspace/Shared/fitlake/{environment}/notebooks/05_driver"
        assert "base_parameters" not in task["notebook_task"]


def test_no_job_lets_a_run_choose_where_credentials_go() -> None:
    """A job parameter or task parameter naming a host would let anyone who may run the job send the secret
    scope's credentials to a host of their choice (trust issue, HIGH)."""
    host_names = {"kafka_bootstrap_servers", "jdbc_url", "jdbc_driver"}
    assert set(jobs.HOST_WIDGETS) <= host_names
    for environment in ENVIRONMENTS:
        for settings in jobs.render_jobs(environment).values():
            assert not host_names & {p["name"] for p in settings["parameters"]}
            for task in settings["tasks"]:
                assert not host_names & set(task["notebook_task"].get("base_parameters", {}))


def test_pipeline_job_cluster_and_wheel_come_from_the_environments_config() -> None:
    prod = jobs.render_jobs("prod")["fitlake-prod"]
    (cluster,) = prod["job_clusters"]
    assert cluster["new_cluster"]["num_workers"] == 2
    assert cluster["new_cluster"]["spark_version"].startswith("18.")
    assert prod["tasks"][0]["job_cluster_key"] == cluster["job_cluster_key"]
    assert prod["tasks"][0]["libraries"] == [{"whl": f"/Workspace/Shared/fitlake/prod/wheels/{jobs.wheel_name()}"}]


def test_integration_test_job_chains_producer_driver_and_test_for_both_sets_then_the_dashboard() -> None:
    settings = jobs.render_jobs("qa")["fitlake-qa-integration-test"]
    tasks = settings["tasks"]
    order = [(t["task_key"], t["notebook_task"]["notebook_path"].rsplit("/", 1)[1]) for t in tasks]
    assert order == [
        ("produce_set1", "06_producer"), ("run_set1", "05_driver"), ("test_set1", "07_test"),
        ("produce_set2", "06_producer"), ("run_set2", "05_driver"), ("test_set2", "07_test"),
        ("dashboard", "09_dashboard"),
    ]  # fmt: skip
    assert "depends_on" not in tasks[0]
    for before, task in zip(tasks[:-1], tasks[1:], strict=True):
        assert task["depends_on"] == [{"task_key": before["task_key"]}]
    assert {t["job_cluster_key"] for t in tasks} == {"fitlake"} and len(settings["job_clusters"]) == 1
    assert [t["notebook_task"].get("base_parameters") for t in tasks] == [
        {"set": "1"}, {"run_mode": "batch"}, {"set": "1"}, {"set": "2"}, {"run_mode": "batch"}, {"set": "2"}, None,
    ]  # fmt: skip
    assert {p["name"]: p["default"] for p in settings["parameters"]} == {"environment": "qa", "age_as_of": "2026-01-01"}


def test_every_task_parameter_is_a_widget_of_its_notebook() -> None:
    declared = {
        "05_driver": widgets("notebooks/01_config.py", "notebooks/05_driver.py"),
        "06_producer": widgets("notebooks/01_config.py", "notebooks/06_producer.py"),
        "07_test": widgets("notebooks/01_config.py", "notebooks/07_test.py"),
        "09_dashboard": widgets("notebooks/01_config.py", "notebooks/09_dashboard.py"),
    }
    for environment in ENVIRONMENTS:
        for settings in jobs.render_jobs(environment).values():
            job_parameters = {p["name"] for p in settings["parameters"]}
            for task in settings["tasks"]:
                notebook = task["notebook_task"]["notebook_path"].rsplit("/", 1)[1]
                names = job_parameters | set(task["notebook_task"].get("base_parameters", {}))
                assert names <= set(declared[notebook]), f"{task['task_key']}: {names - set(declared[notebook])}"


def test_cluster_pyproject_drops_what_the_runtime_provides_and_keeps_the_rest() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    rendered = cluster_pyproject(text)
    assert "pyspark==" not in rendered and "delta-spark==" not in rendered and "nbconvert" not in rendered
    assert '"matplotlib>=' in text and '"matplotlib>=' not in rendered  # every Databricks runtime ships it
    assert 'tomli>=2; python_version < \\"3.11\\"' in rendered
    assert rendered.replace(" ", "").count("[project.optional-dependencies]") == 1


def test_installed_wheel_finds_its_packaged_config(tmp_path: Path) -> None:
    wheel = build_wheel(ROOT, tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {f"fitlake/_config/{env}.toml" for env in ENVIRONMENTS} <= names
    assert "fitlake/deployment/jobs.py" in names
    # Unpacked outside any repo (as pip does into site-packages), fitlake.config reads the packaged copy.
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    probe = "import fitlake.config as c; print(c.CONFIG_DIR); c.read_environment_file('prod')"
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("FITLAKE_CONFIG_DIR", None)
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(site / "fitlake" / "_config")


def test_config_dir_can_be_overridden_by_environment_variable(tmp_path: Path) -> None:
    probe = "import fitlake.config as c; print(c.CONFIG_DIR)"
    env = {**os.environ, "FITLAKE_CONFIG_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(tmp_path.resolve())
