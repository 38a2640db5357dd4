"""The two workflow jobs as Jobs API 2.1 settings (the body of ``jobs/create``, ``new_settings`` of
``jobs/reset``), rendered per environment from ``[deployment]`` of ``config/<env>.toml``.

- ``fitlake-<env>``: one notebook task running ``notebooks/05_driver`` on a job cluster, with job
  parameters named like the driver's widgets (``environment``, ``run_mode`` ...; not the hosts), so a run
  can override any of them and each defaults to the widget's own default (``environment`` to the job's environment).
- ``fitlake-<env>-integration-test``: producer set 1 -> driver (batch) -> test set 1 -> producer set 2 ->
  driver -> test set 2 -> dashboard (the charts of what the run produced), chained with ``depends_on`` on one
  shared job cluster; ages are binned as of the shipped sets' manifest date, so the test notebook's expected
  values hold.

Every task installs the fitlake wheel (``fitlake.deployment.wheel``) from the workspace folder: that is how
the deployed notebooks ``import fitlake``. The reviewed rendering of every environment is committed under
``pipelines/jobs/``; a test keeps the two equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fitlake import __version__
from fitlake.config import CONFIG_DIR
from fitlake.governance import Deployment, load_deployment
from fitlake.parameters import (
    AGE_AS_OF,
    BATCH,
    DRIVER_PARAMETERS,
    ENVIRONMENT,
    NOTEBOOK_PARAMETERS,
    RUN_MODE,
    SAMPLE_SET,
    SAMPLE_SETS,
)
from fitlake.platform import TIME_ZONE
from fitlake.sample.generator import shipped_age_as_of

JOB_CLUSTER_KEY = "fitlake"
REVIEWED_JOBS = Path("pipelines") / "jobs"  # in the repository: the reviewed rendering, one <job name>.json each
# The driver's widgets and their defaults (fitlake.parameters, which a test checks against the notebooks).
# ``environment`` defaults to the job's own environment instead.
DRIVER_WIDGETS: dict[str, str] = {parameter.name: parameter.default for parameter in DRIVER_PARAMETERS}
# Widgets that name where a credentialed connection goes. They are no job parameters: whoever may run the
# job with parameters would otherwise choose the host that receives the secret scope's credentials (and on
# Databricks load_config refuses any value but the configured one anyway).
HOST_WIDGETS = tuple(parameter.name for parameter in NOTEBOOK_PARAMETERS if parameter.host)
NOTEBOOKS = {
    "driver": "notebooks/05_driver",
    "producer": "notebooks/06_producer",
    "test": "notebooks/07_test",
    "dashboard": "notebooks/09_dashboard",
}
DASHBOARD_TASK = "dashboard"  # the integration-test job's last task: ``fitlake demo`` ends with its charts


def pipeline_job_name(environment: str) -> str:
    return f"fitlake-{environment}"


def integration_test_job_name(environment: str) -> str:
    return f"fitlake-{environment}-integration-test"


def wheel_name() -> str:
    """The file name pip requires for the package's wheel (pure Python, any platform)."""
    return f"fitlake-{__version__}-py3-none-any.whl"


def wheel_workspace_path(deployment: Deployment) -> str:
    return f"{deployment.workspace_folder}/wheels/{wheel_name()}"


def render_jobs(environment: str, *, config_dir: Path = CONFIG_DIR) -> dict[str, dict[str, Any]]:
    """Job name -> Jobs API 2.1 settings, for both jobs of ``environment``."""
    deployment = load_deployment(environment, config_dir=config_dir)
    return {
        pipeline_job_name(environment): pipeline_job(deployment),
        integration_test_job_name(environment): integration_test_job(deployment),
    }


def pipeline_job(deployment: Deployment) -> dict[str, Any]:
    """The scheduled-or-manual pipeline job: the driver notebook with every widget but the hosts as a job
    parameter."""
    defaults = {name: value for name, value in DRIVER_WIDGETS.items() if name not in HOST_WIDGETS}
    defaults[ENVIRONMENT.name] = deployment.environment
    return {
        "name": pipeline_job_name(deployment.environment),
        "tags": _tags(deployment),
        # Two runs at once would share the stream checkpoints.
        "max_concurrent_runs": 1,
        "parameters": [{"name": name, "default": value} for name, value in defaults.items()],
        "job_clusters": [_job_cluster(deployment)],
        "tasks": [_notebook_task(deployment, "driver", "driver", {})],
    }


def integration_test_job(deployment: Deployment) -> dict[str, Any]:
    """Producer, driver and test notebook for set 1, then for set 2, then the dashboard, one task after the other."""
    steps = []
    for sample_set in SAMPLE_SETS:
        steps += [
            (f"produce_set{sample_set}", "producer", {SAMPLE_SET.name: sample_set}),
            (f"run_set{sample_set}", "driver", {RUN_MODE.name: BATCH}),
            (f"test_set{sample_set}", "test", {SAMPLE_SET.name: sample_set}),
        ]
    steps.append((DASHBOARD_TASK, "dashboard", {}))
    tasks = []
    for index, (key, notebook, arguments) in enumerate(steps):
        task = _notebook_task(deployment, key, notebook, arguments)
        if index:
            task = {"task_key": key, "depends_on": [{"task_key": steps[index - 1][0]}], **_without_key(task)}
        tasks.append(task)
    return {
        "name": integration_test_job_name(deployment.environment),
        "tags": _tags(deployment),
        "max_concurrent_runs": 1,
        # Job parameters reach every task; ``set`` and ``run_mode`` differ per task, so they are task parameters.
        "parameters": [
            {"name": ENVIRONMENT.name, "default": deployment.environment},
            {"name": AGE_AS_OF.name, "default": shipped_age_as_of()},
        ],
        "job_clusters": [_job_cluster(deployment)],
        "tasks": tasks,
    }


def to_json(settings: dict[str, Any]) -> str:
    """The stable text form used for the golden files and for the CLI's ``--json-file``."""
    return json.dumps(settings, indent=2) + "\n"


def _tags(deployment: Deployment) -> dict[str, str]:
    return {"project": "fitlake", "environment": deployment.environment}


def _job_cluster(deployment: Deployment) -> dict[str, Any]:
    compute = deployment.compute
    return {
        "job_cluster_key": JOB_CLUSTER_KEY,
        "new_cluster": {
            "spark_version": compute.spark_version,
            "node_type_id": compute.node_type_id,
            "num_workers": compute.num_workers,
            "data_security_mode": compute.data_security_mode,
            # The pipeline's event times and date bins assume UTC (as the local runtime does).
            "spark_conf": {"spark.sql.session.timeZone": TIME_ZONE},
        },
    }


def _notebook_task(deployment: Deployment, key: str, notebook: str, arguments: dict[str, str]) -> dict[str, Any]:
    notebook_task: dict[str, Any] = {
        "notebook_path": f"{deployment.workspace_folder}/{NOTEBOOKS[notebook]}",
        "source": "WORKSPACE",
    }
    if arguments:
        notebook_task["base_parameters"] = arguments
    return {
        "task_key": key,
        "job_cluster_key": JOB_CLUSTER_KEY,
        "notebook_task": notebook_task,
        "libraries": [{"whl": wheel_workspace_path(deployment)}],
    }


def _without_key(task: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in task.items() if name != "task_key"}
