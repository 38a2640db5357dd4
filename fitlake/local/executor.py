"""Run Databricks source notebooks in-process on one shared SparkSession.

A notebook sees what Databricks gives it: ``spark``, ``sc``, ``dbutils``, ``display``, ``displayHTML`` and
``getArgument``. Cells run top to bottom: Python through ``exec`` (tracebacks point into the notebook file),
``%sql`` statement by statement through ``spark.sql``, ``%md`` is kept as markdown, ``%run`` runs another
notebook in the caller's namespace, ``%pip`` only prints a note. Any other magic fails, naming itself.
"""

from __future__ import annotations

import ast
import ctypes
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pyspark.sql import DataFrame, SparkSession

from fitlake.config import ENVIRONMENT_WIDGET
from fitlake.errors import (
    ConfigError,
    FitlakeError,
    NotebookCellError,
    NotebookFormatError,
    NotebookNotFoundError,
    NotebookTimeoutError,
)
from fitlake.local.dbutils import LocalDbutils, NotebookExit
from fitlake.local.fs import LocalFs
from fitlake.local.layout import LocalLayout
from fitlake.local.outputs import OutputRouter, OutputSink, html_as_text, render_figure, render_rows
from fitlake.local.record import RunRecord
from fitlake.local.run_page import CANCELED, FAILED, SUCCESS, TIMEDOUT
from fitlake.local.secrets import EnvSecrets, Redactor, redacted_error
from fitlake.local.source import Cell, Notebook, parse_notebook_file, split_sql_statements
from fitlake.local.task_values import TaskValues
from fitlake.local.widgets import Widgets
from fitlake.sample.generator import shipped_sets_dir

DISPLAY_ROW_LIMIT = 1000  # what Databricks' display() renders by default
NOTEBOOK_EXTENSIONS = (".py", ".sql")
PIP_NOTE = "%pip is a no-op locally: dependencies come from pyproject.toml (make setup)."
T = TypeVar("T")


@dataclass
class RunResult:
    """The outcome of a top-level notebook run; ``exit_value`` as the run page shows it (secrets redacted)."""

    exit_value: str | None
    record_folder: Path
    files: list[Path] = field(default_factory=list)


class NotebookRuntime:
    """Runs notebooks for one environment; owns the shared fs, secrets, redactor and output routing."""

    def __init__(
        self,
        spark: SparkSession,
        layout: LocalLayout,
        *,
        environ: dict[str, str] | None = None,
        echo: bool = True,
        verbose: bool = False,
        fs_roots: tuple[Path, ...] = (),
        fs_read_only_roots: tuple[Path, ...] = (),
    ):
        """``echo``: show cell outputs on the console as they happen (the run record keeps them either way).
        ``verbose``: show there also what a notebook only shows rendered (``displayHTML``, such as the setup's
        DDL) and every notebook's exit value. ``fs_roots`` / ``fs_read_only_roots``: folders outside the data root
        that ``dbutils.fs`` may also change / read (a landing zone or sample sets named by the caller); the
        shipped sets are always readable.
        """
        self.spark = spark
        self.layout = layout
        self.redactor = Redactor()
        self.fs = LocalFs(
            layout.dbfs,
            layout.volumes,
            roots=(layout.data_root, *fs_roots),
            # The producer copies sample sets from where the package ships them (fitlake/sample/data).
            read_only_roots=(shipped_sets_dir(), *fs_read_only_roots),
        )
        self.secrets = EnvSecrets(self.redactor, environ)
        self.echo = echo
        self.verbose = verbose
        self.router = OutputRouter(self.redactor)
        # No notebook has a screen: matplotlib draws off-screen (pyplot's figures are shown at each cell's end).
        os.environ["MPLBACKEND"] = "Agg"

    def run(
        self,
        path: str | Path,
        arguments: dict[str, Any] | None = None,
        *,
        timeout_seconds: float = 0,
        task_values: TaskValues | None = None,
        record_folder: Path | None = None,
    ) -> RunResult:
        """Run the notebook at ``path`` with widget ``arguments``; always writes a run record and its page.

        Args:
            timeout_seconds: past this (0 = none) the run's Spark jobs are cancelled and it fails, as a job
                task's ``timeout_seconds`` does on Databricks.
            task_values: ``dbutils.jobs.taskValues`` of the job task this run is (None: outside a job).
            record_folder: where the run record goes: a job puts its tasks' in its own folder, and their pages link
                up to the job's. Default: a new folder under the environment's ``runs/``.

        Raises:
            NotebookCellError: a cell failed (path, cell number and traceback in the message).
            NotebookTimeoutError: ``timeout_seconds`` passed.
        """
        path = Path(path).resolve()
        if not path.is_file():
            raise NotebookNotFoundError(f"Notebook {path} does not exist.")
        arguments = arguments or {}
        record = RunRecord.create(self.layout.runs, path.stem, arguments, self.redactor, record_folder)
        values = task_values or TaskValues.outside_a_job()
        started, state = time.monotonic(), FAILED
        try:
            with self.router.installed():
                if timeout_seconds and timeout_seconds > 0:
                    exit_value, error = self._bounded(
                        lambda: self.execute(path, arguments, record, is_child=False, task_values=values),
                        timeout_seconds,
                        f"Notebook {path.name}",
                        thread_name=f"notebook:{path.stem}",
                    )
                    if error is not None:
                        raise error
                else:
                    exit_value = self.execute(path, arguments, record, is_child=False, task_values=values)
            state = SUCCESS
        except NotebookTimeoutError:
            state = TIMEDOUT
            raise
        except KeyboardInterrupt:
            state = CANCELED
            raise
        finally:
            page = record.finish(state, time.monotonic() - started)
            print(f"Run record: {record.folder}")
            print(f"Run page: {page}")
        return RunResult(exit_value=self._redacted(exit_value), record_folder=record.folder, files=list(record.files))

    def execute(
        self,
        path: Path,
        arguments: dict[str, Any],
        record: RunRecord,
        *,
        is_child: bool,
        task_values: TaskValues,
    ) -> str | None:
        """Run one notebook in a fresh namespace with its own widgets; return its exit value.

        The value returned is the notebook's own (a parent's ``dbutils.notebook.run`` gets it unchanged, as on
        Databricks); the run record keeps it and the arguments redacted.
        """
        notebook = parse_notebook_file(path)
        run = _NotebookRun(self, notebook, Widgets(arguments, check=self.check_widget), task_values)
        stem = record.file_stem(notebook, is_child)
        failed = True
        try:
            run.run_cells(record)
            failed = False
        finally:
            record.write(
                stem,
                notebook,
                run.outputs,
                arguments={str(k): self.redactor(str(v)) for k, v in arguments.items()},
                exit_value=self._redacted(run.exit_value),
                failed=failed,
            )
        return run.exit_value

    def check_widget(self, name: str, value: str) -> None:
        """Refuse an ``environment`` widget that names another environment than this runtime's session.

        Locally the session serves one environment: its metastore, warehouse and folders under the data root
        (``--env``). A notebook whose widget named another would load that environment's config and run it
        against this one's tables and folders. Notebooks read the widget before they touch a table, so the read
        is where this fails. On Databricks each environment is its own catalog: nothing to reconcile there.

        Raises:
            ConfigError: the widget's value is not the session's environment.
        """
        check_environment_widget(self.layout, name, value)

    def run_child(
        self, parent: _NotebookRun, record: RunRecord, ref: str, timeout_seconds: int, arguments: dict
    ) -> str:
        """``dbutils.notebook.run``: the child runs in its own thread so its timeout can be enforced.

        The child sees its parent's ``dbutils.jobs.taskValues`` (locally; it runs inside the parent's task).
        """
        path = resolve_notebook(ref, parent.notebook.path.parent)
        value, error = self._bounded(
            lambda: self.execute(path, arguments or {}, record, is_child=True, task_values=parent.task_values),
            timeout_seconds,
            f"Notebook {ref}",
            thread_name=f"notebook:{path.stem}",
        )
        if error is not None:
            raise FitlakeError(f"Notebook {ref} failed: {self.redactor(str(error))}") from redacted_error(
                error, self.redactor
            )
        return "" if value is None else value

    def _bounded(
        self, work: Callable[[], T], timeout_seconds: float, what: str, *, thread_name: str
    ) -> tuple[T | None, BaseException | None]:
        """Run ``work`` in its own thread, its Spark jobs in their own job group: (its result, or its error).

        Past ``timeout_seconds`` (0 = none) the group's Spark jobs are cancelled, the thread is asked to stop and
        ``NotebookTimeoutError`` is raised.
        """
        outcome: dict[str, Any] = {}
        job_group = f"fitlake-notebook-{uuid.uuid4().hex}"

        def target() -> None:
            self.spark.sparkContext.setJobGroup(job_group, what, interruptOnCancel=True)
            try:
                outcome["value"] = work()
            except BaseException as error:  # noqa: BLE001 - handed to the calling thread below
                outcome["error"] = error

        worker = threading.Thread(target=target, name=thread_name, daemon=True)
        worker.start()
        worker.join(timeout_seconds if timeout_seconds and timeout_seconds > 0 else None)
        if worker.is_alive():
            self.spark.sparkContext.cancelJobGroup(job_group)
            _raise_in_thread(worker, NotebookTimeoutError)
            worker.join(10)
            raise NotebookTimeoutError(
                f"{what} did not finish within timeout_seconds={timeout_seconds:g}; its run was cancelled."
            )
        return outcome.get("value"), outcome.get("error")

    def _redacted(self, value: str | None) -> str | None:
        return None if value is None else self.redactor(value)


class _NotebookRun:
    """The state of one notebook execution: namespace, widgets, per-cell outputs, exit value."""

    def __init__(self, runtime: NotebookRuntime, notebook: Notebook, widgets: Widgets, task_values: TaskValues):
        self.runtime = runtime
        self.notebook = notebook
        self.widgets = widgets
        self.task_values = task_values
        self.outputs: dict[int, list[Any]] = {}
        self.exit_value: str | None = None
        self._record: RunRecord | None = None
        self.dbutils = LocalDbutils(
            widgets=widgets,
            fs=runtime.fs,
            secrets=runtime.secrets,
            run_notebook=self._run_child,
            task_values=task_values,
        )
        self.namespace: dict[str, Any] = {
            "__name__": "__main__",
            "spark": runtime.spark,
            "sc": runtime.spark.sparkContext,
            "dbutils": self.dbutils,
            "display": self.display,
            "displayHTML": self.display_html,
            "getArgument": widgets.getArgument,
        }

    def run_cells(self, record: RunRecord) -> None:
        self._record = record
        try:
            self._run_notebook_cells(self.notebook)
        except NotebookExit as exit_:
            self.exit_value = exit_.value

    def _run_notebook_cells(self, notebook: Notebook, sink: OutputSink | None = None) -> None:
        """Run ``notebook``'s cells here; a ``%run`` include passes the including cell's sink."""
        for cell in notebook.cells:
            cell_sink = sink or self._new_sink(cell.number)
            with self.runtime.router.cell(cell_sink):
                failure = None
                try:
                    self._run_cell(cell, notebook, cell_sink)
                except NotebookExit as exit_:
                    # Kept in the record, as Databricks shows it under the cell; on the console the caller
                    # reports what the value means (a parent prints what it needs of a child's).
                    cell_sink.write("stdout", f"Notebook exited: {exit_.value}\n", echo=self.runtime.verbose)
                    raise
                except NotebookCellError:
                    raise
                except Exception as error:
                    failure = self._cell_failure(error, notebook, cell, cell_sink)
                if failure is not None:
                    # Raised outside the except block, so its __context__ is not the original error.
                    raise failure from failure.cause

    def _cell_failure(self, error: Exception, notebook: Notebook, cell: Cell, sink: OutputSink) -> NotebookCellError:
        """The error a failed cell raises; the original stays its cause only when it holds no secret."""
        redact = self.runtime.redactor
        text = redact(_notebook_traceback(error))
        sink.error(type(error).__name__, str(error), text)
        return NotebookCellError(str(notebook.path), cell.number, text, redacted_error(error, redact))

    def _new_sink(self, number: int) -> OutputSink:
        console = self.runtime.router.console_out if self.runtime.echo else None
        sink = OutputSink(self.runtime.redactor, console)
        self.outputs[number] = sink.outputs
        return sink

    def _run_cell(self, cell: Cell, notebook: Notebook, sink: OutputSink) -> None:
        if cell.kind in ("empty", "md"):
            return
        if cell.kind == "python":
            self._run_python(cell, notebook.path)
        elif cell.kind == "sql":
            self._run_sql(cell)
        elif cell.kind == "run":
            self._run_include(cell, notebook, sink)
        elif cell.kind == "pip":
            print(PIP_NOTE)
        else:
            raise NotebookFormatError(
                f"Magic {cell.kind} is not supported by the local runtime (supported: %python, %sql, %md, %run, "
                "%pip). Move that logic into the fitlake package or a Python cell."
            )

    def _run_python(self, cell: Cell, path: Path) -> None:
        # Padding keeps line numbers equal to the file's, so tracebacks point into the notebook.
        tree = ast.parse("\n" * (cell.line - 1) + cell.body, filename=str(path))
        last_expression = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(path), "exec"), self.namespace)  # noqa: S102 - running notebooks is the point
        if last_expression is not None:
            value = eval(compile(ast.Expression(last_expression.value), str(path), "eval"), self.namespace)  # noqa: S307
            if _is_figure(value):
                self.display(value)
            elif value is not None:
                self.runtime.router.current.display({"text/plain": repr(value)}, repr(value))
        self._show_open_figures()

    def _show_open_figures(self) -> None:
        """Figures drawn with pyplot and still open (``plt.show()`` draws nothing off-screen) are displayed at the
        end of the cell, as a Databricks notebook shows them. Pyplot's list of figures is global to the process."""
        pyplot = sys.modules.get("matplotlib.pyplot")
        for number in pyplot.get_fignums() if pyplot else ():
            self.display(pyplot.figure(number))

    def _run_sql(self, cell: Cell) -> None:
        result = None
        for statement in split_sql_statements(cell.body):
            result = self.runtime.spark.sql(statement)
        if result is not None and result.columns:
            self.namespace["_sqldf"] = result  # the implicit DataFrame Databricks binds after a SQL cell
            self.display(result)

    def _run_include(self, cell: Cell, notebook: Notebook, sink: OutputSink) -> None:
        ref, arguments = _parse_run_arguments(cell.body, notebook.path, cell.number)
        included = parse_notebook_file(resolve_notebook(ref, notebook.path.parent))
        for name, value in arguments.items():
            self.widgets.pass_argument(name, value)  # %run ./nb $name=value sets the included notebook's widgets
        self._run_notebook_cells(included, sink)

    def _run_child(self, ref: str, timeout_seconds: int, arguments: dict | None) -> str:
        assert self._record is not None
        return self.runtime.run_child(self, self._record, ref, timeout_seconds, arguments or {})

    def display(self, obj: Any = None, *args: Any, **kwargs: Any) -> None:
        sink = self.runtime.router.current
        if sink is None:
            raise FitlakeError("display() was called outside a running cell.")
        if isinstance(obj, DataFrame):
            if obj.isStreaming:
                raise FitlakeError(
                    "display() of a streaming DataFrame is not supported locally: write the stream to a table "
                    "with an availableNow trigger and display the table."
                )
            rows = obj.limit(DISPLAY_ROW_LIMIT + 1).collect()
            truncated = len(rows) > DISPLAY_ROW_LIMIT
            html_table, text = render_rows(obj.columns, [tuple(r) for r in rows[:DISPLAY_ROW_LIMIT]], truncated)
            sink.display({"text/html": html_table, "text/plain": text}, text)
        elif _is_figure(obj):
            sink.display(*render_figure(obj))
            pyplot = sys.modules.get("matplotlib.pyplot")
            if pyplot is not None:
                pyplot.close(obj)  # shown once: a pyplot figure is not shown again at the cell's end
        elif hasattr(obj, "_repr_html_"):
            sink.display({"text/html": obj._repr_html_(), "text/plain": repr(obj)}, repr(obj))
        else:
            sink.display({"text/plain": str(obj)}, str(obj))

    def display_html(self, html: str) -> None:
        sink = self.runtime.router.current
        if sink is None:
            raise FitlakeError("displayHTML() was called outside a running cell.")
        console = html_as_text(html) if self.runtime.verbose else None
        sink.display({"text/html": html, "text/plain": "<HTML output: see the run record>"}, console)


def _is_figure(obj: Any) -> bool:
    """A matplotlib ``Figure`` (when matplotlib was never imported, nothing is one)."""
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(obj, figure.Figure)


def check_environment_widget(layout: LocalLayout, name: str, value: str) -> None:
    """Refuse an ``environment`` widget value other than ``layout``'s (see ``NotebookRuntime.check_widget``).

    Raises:
        ConfigError: naming both environments and the flag that chooses the session's.
    """
    if name == ENVIRONMENT_WIDGET and value != layout.env:
        raise ConfigError(
            f"The notebook's {ENVIRONMENT_WIDGET} widget is {value!r}, but this local session serves "
            f"{layout.env!r} (tables and files under {layout.env_root}): the notebook would run the "
            f"{value} config against the {layout.env} tables. To run {value}, use --env {value}; the "
            f"widget follows --env unless -p {ENVIRONMENT_WIDGET}=... says otherwise."
        )


def resolve_notebook(ref: str, base_dir: Path) -> Path:
    """Resolve a notebook reference by Databricks' rules: relative to the caller, without an extension."""
    if ref.startswith("/"):
        raise NotebookNotFoundError(
            f"Notebook {ref!r}: absolute workspace paths cannot be resolved locally; use a path relative to "
            "the calling notebook, such as ./config or ../setup/01_schemas."
        )
    target = (base_dir / ref).resolve()
    if target.suffix in NOTEBOOK_EXTENSIONS and target.is_file():
        raise NotebookNotFoundError(
            f"Notebook {ref!r}: Databricks notebook paths have no extension; use {ref[: -len(target.suffix)]!r}."
        )
    for extension in NOTEBOOK_EXTENSIONS:
        candidate = target.with_name(target.name + extension)
        if candidate.is_file():
            return candidate
    raise NotebookNotFoundError(f"Notebook {ref!r} not found (looked for {target}.py and {target}.sql).")


def _parse_run_arguments(text: str, path: Path, number: int) -> tuple[str, dict[str, str]]:
    """``%run ./nb $name="value" ...`` -> ("./nb", {"name": "value"})."""
    import shlex

    parts = shlex.split(text)
    if not parts:
        raise NotebookFormatError(f"{path}, cell {number}: %run needs a notebook path, such as %run ./config.")
    arguments = {}
    for part in parts[1:]:
        name, sep, value = part.partition("=")
        if not name.startswith("$") or not sep:
            raise NotebookFormatError(f'{path}, cell {number}: %run arguments look like $name="value", got {part!r}.')
        arguments[name[1:]] = value
    return parts[0], arguments


def _notebook_traceback(error: BaseException) -> str:
    """The traceback from the first frame outside this module: what the notebook author needs to see."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def _raise_in_thread(thread: threading.Thread, exception: type[BaseException]) -> None:
    """Ask ``thread`` to raise ``exception`` at its next Python instruction (how a timeout stops a child)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exception))
