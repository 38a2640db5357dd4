"""The local ``dbutils``: widgets, notebook, fs, secrets and jobs (task values), shaped like Databricks' own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fitlake.local.fs import LocalFs
from fitlake.local.secrets import EnvSecrets
from fitlake.local.task_values import JobsUtils, TaskValues
from fitlake.local.widgets import Widgets


class NotebookExit(BaseException):  # noqa: N818 - a control-flow signal, not an error
    """Raised by ``dbutils.notebook.exit`` to end a notebook early; BaseException so ``except Exception``
    in a notebook cannot swallow it."""

    def __init__(self, value: str):
        super().__init__(value)
        self.value = value


class NotebookUtils:
    def __init__(self, run_notebook: Callable[[str, int, dict | None], str]):
        self._run_notebook = run_notebook

    def exit(self, value: Any) -> None:
        raise NotebookExit("" if value is None else str(value))

    def run(self, path: str, timeout_seconds: int, arguments: dict | None = None) -> str:
        """Run a child notebook in a fresh namespace with ``arguments`` as its widget values; return its exit value.

        ``timeout_seconds`` 0 means no timeout, as on Databricks.
        """
        return self._run_notebook(path, timeout_seconds, {str(k): str(v) for k, v in (arguments or {}).items()})


class LocalDbutils:
    def __init__(
        self,
        *,
        widgets: Widgets,
        fs: LocalFs,
        secrets: EnvSecrets,
        run_notebook: Callable[[str, int, dict | None], str],
        task_values: TaskValues | None = None,
    ):
        self.widgets = widgets
        self.fs = fs
        self.secrets = secrets
        self.notebook = NotebookUtils(run_notebook)
        self.jobs = JobsUtils(task_values or TaskValues.outside_a_job())

    def help(self) -> None:
        print(
            "Local dbutils (fitlake): widgets, notebook (run, exit), fs (ls, cp, mv, rm, mkdirs, put, head), secrets, "
            "jobs.taskValues (set, get)."
        )
