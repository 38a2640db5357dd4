"""azure-pipelines.yml: it parses, builds and tests first, then deploys dev -> integration test -> qa -> prod,
each deployment through an Azure DevOps environment (where approvals live) with its own variable group."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ORDER = ["Build", "DeployDev", "IntegrationTestDev", "DeployQA", "DeployProd"]
TARGET = {"DeployDev": "dev", "IntegrationTestDev": "dev", "DeployQA": "qa", "DeployProd": "prod"}


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def test_stages_run_in_order_each_after_the_one_before() -> None:
    stages = load("azure-pipelines.yml")["stages"]
    assert [stage["stage"] for stage in stages] == ORDER
    for before, stage in zip(ORDER[:-1], stages[1:], strict=True):
        assert stage["dependsOn"] == before
        assert "succeeded()" in stage["condition"]


def test_build_stage_lints_tests_and_publishes_the_wheel() -> None:
    steps = load("azure-pipelines.yml")["stages"][0]["jobs"][0]["steps"]
    scripts = [step.get("script", "") for step in steps]
    commands = ("make setup", "ruff check", "pytest tests/unit", "pytest tests/integration", "fitlake.deployment.wheel")
    for command in commands:
        assert any(command in script for script in scripts), command
    assert steps[-1]["artifact"] == "wheel"


def test_every_deployment_uses_its_environment_variable_group_and_the_shared_steps() -> None:
    for stage in load("azure-pipelines.yml")["stages"][1:]:
        env = TARGET[stage["stage"]]
        (job,) = stage["jobs"]
        assert job["environment"] == f"fitlake-{env}"  # approvals are configured on the environment
        assert stage["variables"] == [{"group": f"fitlake-{env}"}]
        (step,) = job["strategy"]["runOnce"]["deploy"]["steps"]
        assert step["template"] == "pipelines/azure/deploy-steps.yml"
        assert step["parameters"]["environment"] == env
        runs_test = "--run-integration-test" in step["parameters"].get("arguments", "")
        assert runs_test == (stage["stage"] == "IntegrationTestDev")


def test_deploy_steps_map_the_secrets_and_deploy_the_published_wheel() -> None:
    steps = load("pipelines/azure/deploy-steps.yml")["steps"]
    assert steps[0] == {"checkout": "self"}
    assert {"download": "current", "artifact": "wheel"} in steps
    deploy = steps[-1]
    assert "fitlake deploy --environment ${{ parameters.environment }}" in deploy["script"]
    assert "/wheel/fitlake-*.whl" in deploy["script"]
    assert deploy["env"] == {"DATABRICKS_HOST": "$(DATABRICKS_HOST)", "DATABRICKS_TOKEN": "$(DATABRICKS_TOKEN)"}
