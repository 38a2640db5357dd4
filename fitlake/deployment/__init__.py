"""Deployment to a Databricks workspace: job definitions, the cluster wheel and the deploy script.

- ``jobs``: the Jobs API 2.1 settings of the pipeline job and the integration-test job, rendered per
  environment from ``config/<env>.toml`` (``[deployment]``); reviewed copies live in ``pipelines/jobs/``.
- ``wheel``: builds the ``fitlake`` wheel that job clusters install (with a copy of ``config/``), because
  the legacy CLI's ``import_dir`` would turn every module of the package into a notebook.
- ``legacy_cli``: runs the real legacy ``databricks`` CLI (0.18) safely: by its own path, on Jobs API 2.1,
  never handing over to a newer ``databricks`` binary found on ``PATH``.
- ``workspace``: the one Workspace API call the legacy CLI cannot make (importing a non-notebook file).
- ``deploy``: imports ``notebooks/`` and ``setup/``, uploads the wheel, creates or resets the jobs,
  optionally runs the integration test and waits for it.

Credentials come only from ``DATABRICKS_HOST`` and ``DATABRICKS_TOKEN`` in the environment.
"""

from fitlake.errors import FitlakeError


class DeploymentError(FitlakeError):
    """A deployment step failed: the CLI, the workspace or the integration-test run reported an error."""
