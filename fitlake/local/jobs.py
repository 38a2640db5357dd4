"""``fitlake job run``: a Jobs API 2.1 job definition (``fitlake.local.job_spec``) run locally, as Databricks runs it.

- **Order.** One task at a time, each after its dependencies (among tasks ready together, in definition order;
  Databricks would run those in parallel).
- **Parameters.** Each notebook task's widgets are its ``base_parameters`` with the job parameters over them:
  job parameters (their defaults, overridden by ``-p``) reach every notebook task and win over a task
  parameter of the same name, as on Databricks. References are resolved when the task starts.
- **run_if.** A task whose dependencies have all ended runs when its ``run_if`` holds; otherwise it is
  ``UPSTREAM_FAILED`` (ALL_SUCCESS, AT_LEAST_ONE_SUCCESS, NONE_FAILED) or ``EXCLUDED`` (AT_LEAST_ONE_FAILED,
  ALL_FAILED). An excluded dependency counts as succeeded; a task whose dependencies are all excluded is
  excluded too; a dependency edge on a condition task whose outcome differs counts as excluded.
- **Retries and timeouts.** A failed attempt is retried up to ``max_retries`` times (-1: until it succeeds),
  a timed-out one only with ``retry_on_timeout``; the next attempt starts ``min_retry_interval_millis`` after
  the failed one started. ``timeout_seconds`` bounds each attempt; the job's bounds the whole run (then the
  running task is ``TIMEDOUT``, the rest ``CANCELED`` and the job ``TIMEDOUT``).
- **Result.** ``SUCCESS`` when every task succeeded or was excluded; ``SUCCESS_WITH_FAILURES`` when some task
  failed but every leaf task succeeded; ``FAILED`` when a leaf task did not succeed.
- **Run page.** The job's run folder (``runs/<start>-job-<name>/``) holds a page with one row per task, rewritten
  as each task starts and ends, and each notebook task's own run record and page in a sub-folder named after the
  task (and the attempt, from the second on).
"""

from __future__ import annotations

import itertools
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fitlake.errors import ConfigError, FitlakeError, NotebookCellError, NotebookTimeoutError
from fitlake.local import job_refs
from fitlake.local.executor import NotebookRuntime, check_environment_widget
from fitlake.local.job_refs import RunFacts, TaskFacts
from fitlake.local.job_spec import ConditionWork, JobSpec, NotebookWork, TaskSpec
from fitlake.local.layout import LocalLayout, repo_root
from fitlake.local.outputs import text_table
from fitlake.local.record import run_stamp
from fitlake.local.run_page import (
    CANCELED,
    EXCLUDED,
    FAILED,
    PAGE_FILE,
    PENDING,
    RUNNING,
    SUCCESS,
    SUCCESS_WITH_FAILURES,
    TIMEDOUT,
    UPSTREAM_FAILED,
    PageRow,
    RunPage,
)
from fitlake.local.task_values import TaskValues, TaskValueStore

SUCCEEDED = (SUCCESS, EXCLUDED)  # an excluded task is skipped and treated as successful (Databricks)
_EXIT_VALUE_SHOWN = 40  # characters of an exit value in the summary table


@dataclass
class TaskResult:
    key: str
    state: str = PENDING
    attempts: int = 0
    seconds: float = 0.0
    exit_value: str | None = None
    outcome: str | None = None  # a condition task's: "true" or "false"
    message: str = ""  # why it failed or was skipped
    failure: NotebookCellError | None = None  # the failed cell, with its traceback
    run_ids: list[int] = field(default_factory=list)
    record_folder: Path | None = None  # a notebook task's run record (its last attempt's, once it has ended)


@dataclass
class JobResult:
    name: str
    run_id: int
    state: str
    tasks: list[TaskResult]
    seconds: float
    page: Path  # the job's run page

    @property
    def succeeded(self) -> bool:
        return self.state == SUCCESS


@dataclass(frozen=True)
class JobPlan:
    """A job ready to run: its checked definition and the run's facts (ids, start, job parameter values)."""

    spec: JobSpec
    facts: RunFacts


def plan_job(spec: JobSpec, overrides: Mapping[str, str], layout: LocalLayout) -> JobPlan:
    """The run's facts, with ``-p`` overrides of job parameters; checked before any session starts.

    Raises:
        ConfigError: an override names no job parameter, or an ``environment`` value is not ``layout``'s.
    """
    unknown = [name for name in overrides if name not in spec.parameters]
    if unknown:
        known = ", ".join(spec.parameters) or "none"
        raise ConfigError(f"Job {spec.name} has no parameter {', '.join(unknown)} (its parameters: {known}).")
    start = datetime.now(timezone.utc)
    bare = RunFacts(
        job_id=zlib.crc32(spec.name.encode("utf-8")),  # locally a job has no id: a stable one from its name
        job_name=spec.name,
        run_id=int(start.timestamp() * 1000),
        start_time=start,
        parameters={},
    )
    values = {name: job_refs.resolve(value, bare) for name, value in {**spec.parameters, **overrides}.items()}
    for name, value in values.items():
        _check_environment(spec, layout, f"job parameter {name}", name, value)
    for task in spec.tasks:
        if isinstance(task.work, NotebookWork):
            for name, value in task.work.base_parameters.items():
                if not job_refs.references(value) and name not in values:
                    _check_environment(spec, layout, f"task {task.key}", name, value)
    return JobPlan(spec, RunFacts(bare.job_id, bare.job_name, bare.run_id, start, values))


def _check_environment(spec: JobSpec, layout: LocalLayout, where: str, name: str, value: str) -> None:
    """The notebooks would refuse an environment other than the session's as they read it: refuse it now."""
    try:
        check_environment_widget(layout, name, value)
    except ConfigError:
        raise ConfigError(
            f"Job {spec.name}: {where} sets {name}={value!r}, but this run serves --env {layout.env}; run the "
            f"job with --env {value} (locally each environment has its own tables and files). Nothing has run."
        ) from None


def decide(run_if: str, dependency_states: list[str]) -> str | None:
    """None when a task whose dependencies ended in ``dependency_states`` runs, else the state it gets."""
    if not dependency_states:
        return None
    if all(state == EXCLUDED for state in dependency_states):
        return EXCLUDED
    succeeded = sum(state == SUCCESS for state in dependency_states)
    failed = sum(state not in SUCCEEDED for state in dependency_states)
    holds = {
        "ALL_SUCCESS": failed == 0,
        "AT_LEAST_ONE_SUCCESS": succeeded > 0,
        "NONE_FAILED": failed == 0 and succeeded > 0,
        "ALL_DONE": True,
        "AT_LEAST_ONE_FAILED": failed > 0,
        "ALL_FAILED": failed == len(dependency_states),
    }[run_if]
    if holds:
        return None
    return EXCLUDED if run_if in ("AT_LEAST_ONE_FAILED", "ALL_FAILED") else UPSTREAM_FAILED


def job_state(spec: JobSpec, results: Mapping[str, TaskResult]) -> str:
    """Databricks' rule: the leaf tasks decide; a failure elsewhere makes it SUCCESS_WITH_FAILURES."""
    if any(results[key].state not in SUCCEEDED for key in spec.leaves()):
        return FAILED
    return SUCCESS if all(result.state in SUCCEEDED for result in results.values()) else SUCCESS_WITH_FAILURES


def compare(op: str, left: str, right: str) -> bool:
    """A condition task's test: strings for (not) equal, numbers for the orderings (as on Databricks).

    Raises:
        ValueError: an ordering of operands that are not both numbers.
    """
    if op in ("EQUAL_TO", "NOT_EQUAL"):
        return (left == right) == (op == "EQUAL_TO")
    a, b = float(left), float(right)
    return {"GREATER_THAN": a > b, "GREATER_THAN_OR_EQUAL": a >= b, "LESS_THAN": a < b, "LESS_THAN_OR_EQUAL": a <= b}[
        op
    ]


class JobRun:
    """One local run of a planned job on a notebook runtime."""

    def __init__(
        self,
        plan: JobPlan,
        runtime: NotebookRuntime,
        *,
        say: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.spec, self.facts, self.runtime = plan.spec, plan.facts, runtime
        self.results = {key: TaskResult(key) for key in self.spec.keys}
        self.values = TaskValueStore(self.spec.keys)
        self._say, self._sleep = say, sleep
        self._task_run_ids = itertools.count(self.facts.run_id + 1)
        self._deadline: float | None = None
        self._timed_out = False
        self.folder = runtime.layout.runs / f"{run_stamp()}-job-{self.spec.name}"
        self.page = RunPage.begin("job", self.spec.name, self.facts.parameters)
        self._rows = {key: PageRow(key, state=PENDING) for key in self.spec.keys}
        self.page.rows = list(self._rows.values())

    def run(self) -> JobResult:
        started, state = time.monotonic(), FAILED
        if self.spec.timeout_seconds:
            self._deadline = started + self.spec.timeout_seconds
        self.folder.mkdir(parents=True, exist_ok=False)
        self._write_page()
        self._say(f"Job {self.spec.name} (run {self.facts.run_id}): {len(self.spec.tasks)} tasks")
        try:
            self._run_tasks()
            state = TIMEDOUT if self._timed_out else job_state(self.spec, self.results)
        except KeyboardInterrupt:
            state = CANCELED
            raise
        finally:  # the page tells how the run ended, however it ended
            seconds = time.monotonic() - started
            self.page.finish(state, seconds)
            page = self._write_page()
        self._say(f"Job {self.spec.name}: {state} in {seconds:.1f} s")
        return JobResult(self.spec.name, self.facts.run_id, state, list(self.results.values()), seconds, page)

    def _run_tasks(self) -> None:
        for task in self.spec.tasks:
            self._timed_out = self._timed_out or (self._deadline is not None and time.monotonic() >= self._deadline)
            if self._timed_out:
                self._end(task, CANCELED, "not started: the job's timeout_seconds passed")
                continue
            skipped = decide(task.run_if, self._dependency_states(task))
            if skipped:
                self._end(task, skipped, f"run_if {task.run_if} does not hold: {self._dependency_text(task)}")
            else:
                self._run_task(task)

    def _write_page(self) -> Path:
        return self.page.write(self.folder, self.runtime.redactor)

    def _dependency_states(self, task: TaskSpec) -> list[str]:
        """Each dependency's state as ``run_if`` sees it: an untaken branch of a condition task is excluded."""
        states = []
        for dependency in task.depends_on:
            upstream = self.results[dependency.task_key]
            branch_not_taken = dependency.outcome is not None and upstream.state == SUCCESS
            states.append(EXCLUDED if branch_not_taken and upstream.outcome != dependency.outcome else upstream.state)
        return states

    def _dependency_text(self, task: TaskSpec) -> str:
        states = self._dependency_states(task)
        return ", ".join(f"{d.task_key} {state}" for d, state in zip(task.depends_on, states, strict=True))

    def _run_task(self, task: TaskSpec) -> None:
        result, started = self.results[task.key], time.monotonic()
        while True:
            attempt_started = time.monotonic()
            result.attempts += 1
            self._say(f"{task.key}: RUNNING {self._what(task)}" + self._attempt_text(task, result))
            self._show_running(task, result)
            self._attempt(task, result)
            result.seconds = time.monotonic() - started
            if not self._retries_left(task, result):
                break
            wait = task.retries.min_interval_seconds - (time.monotonic() - attempt_started)
            pause = f" in {wait:.1f} s" if wait > 0 else ""
            self._say(f"{task.key}: {result.state} ({result.message}); retrying{pause}")
            if wait > 0:
                self._sleep(wait)
        self._end(task, result.state, result.message)

    def _attempt(self, task: TaskSpec, result: TaskResult) -> None:
        result.run_ids.append(next(self._task_run_ids))
        result.failure, result.message = None, ""
        try:
            if isinstance(task.work, ConditionWork):
                self._condition(task, task.work, result)
            else:
                self._notebook(task, task.work, result)
        except NotebookTimeoutError as error:
            self._timed_out = self._deadline is not None and time.monotonic() >= self._deadline
            result.state, result.message = TIMEDOUT, str(error)
        except NotebookCellError as error:
            result.state, result.failure = FAILED, error
            result.message = f"{error.notebook}, cell {error.cell} failed"
        except FitlakeError as error:
            result.state, result.message = FAILED, str(error)

    def _notebook(self, task: TaskSpec, work: NotebookWork, result: TaskResult) -> None:
        facts = self._task_facts(task, result)
        arguments = {name: self._resolve(value, facts) for name, value in work.base_parameters.items()}
        arguments.update(self.facts.parameters)  # job parameters win over task parameters of the same name
        run = self.runtime.run(
            work.notebook,
            arguments,
            timeout_seconds=self._timeout(task),
            task_values=TaskValues.for_task(self.values, task.key),
            record_folder=self.folder / self._task_folder(task, result),
        )
        result.state, result.exit_value, result.record_folder = SUCCESS, run.exit_value, run.record_folder

    def _condition(self, task: TaskSpec, work: ConditionWork, result: TaskResult) -> None:
        facts = self._task_facts(task, result)
        left, right = self._resolve(work.left, facts), self._resolve(work.right, facts)
        try:
            outcome = compare(work.op, left, right)
        except ValueError:
            raise FitlakeError(f"{work.op} compares numbers; {left!r} and {right!r} are not both numbers") from None
        result.state, result.outcome = SUCCESS, "true" if outcome else "false"
        result.message = f"{left!r} {work.op} {right!r} is {result.outcome}"

    def _task_facts(self, task: TaskSpec, result: TaskResult) -> TaskFacts:
        path = task.work.workspace_path if isinstance(task.work, NotebookWork) else None
        return TaskFacts(task.key, result.run_ids[-1], result.attempts, path)

    def _resolve(self, text: str, facts: TaskFacts) -> str:
        return job_refs.resolve(text, self.facts, facts, _Earlier(self.results, self.values))

    def _timeout(self, task: TaskSpec) -> float:
        """This attempt's bound: the task's timeout_seconds, or what is left of the job's if that is less."""
        bounds = [float(task.timeout_seconds)] if task.timeout_seconds else []
        if self._deadline is not None:
            bounds.append(max(self._deadline - time.monotonic(), 0.001))
        return min(bounds, default=0.0)

    def _retries_left(self, task: TaskSpec, result: TaskResult) -> bool:
        retryable = result.state == FAILED or (result.state == TIMEDOUT and task.retries.on_timeout)
        limit = task.retries.max_retries
        return retryable and not self._timed_out and (limit == -1 or result.attempts <= limit)

    def _end(self, task: TaskSpec, state: str, message: str) -> None:
        result = self.results[task.key]
        result.state, result.message = state, message
        self._show(task, result)
        took = f" in {result.seconds:.1f} s" if result.attempts else ""
        tries = f" after {result.attempts} attempts" if result.attempts > 1 else ""
        detail = f" ({message})" if message and (state != SUCCESS or result.outcome) else ""
        self._say(f"{task.key}: {state}{took}{tries}{detail}")

    @staticmethod
    def _task_folder(task: TaskSpec, result: TaskResult) -> str:
        """A notebook task's run record, in the job's folder: one per attempt."""
        return task.key if result.attempts == 1 else f"{task.key}-attempt{result.attempts}"

    def _show_running(self, task: TaskSpec, result: TaskResult) -> None:
        """The task's row as an attempt starts; it links the attempt's own page (earlier ones sit beside it)."""
        row = self._rows[task.key]
        row.state, row.note = RUNNING, f"attempt {result.attempts}" if result.attempts > 1 else ""
        if isinstance(task.work, NotebookWork):
            row.href = f"{self._task_folder(task, result)}/{PAGE_FILE}"
        self._write_page()

    def _show(self, task: TaskSpec, result: TaskResult) -> None:
        """The task's row as it ended: as the summary table shows it, plus attempts."""
        row = self._rows[task.key]
        row.state, row.seconds = result.state, result.seconds if result.attempts else None
        row.exit_value = result.exit_value if result.state == SUCCESS and result.outcome is None else None
        notes = [f"{result.attempts} attempts"] if result.attempts > 1 else []
        notes += [f"outcome {result.outcome}: {result.message}"] if result.outcome else []
        notes += [result.message] if result.message and not result.outcome and result.state != SUCCESS else []
        row.note = "; ".join(notes)
        self._write_page()

    def _what(self, task: TaskSpec) -> str:
        if isinstance(task.work, NotebookWork):
            notebook, repo = task.work.notebook, repo_root()
            return str(notebook.relative_to(repo) if notebook.is_relative_to(repo) else notebook)
        return f"condition {task.work.op}"

    def _attempt_text(self, task: TaskSpec, result: TaskResult) -> str:
        if result.attempts == 1:
            return ""
        limit = "unlimited" if task.retries.max_retries == -1 else str(task.retries.max_retries + 1)
        return f" (attempt {result.attempts} of {limit})"


class _Earlier:
    """``{{tasks.<key>.*}}``: the results and task values of the tasks that have ended."""

    def __init__(self, results: Mapping[str, TaskResult], values: TaskValueStore):
        self._results, self._values = results, values

    def field(self, key: str, name: str) -> str:
        result = self._results[key]
        if name == "result_state":
            return result.state.lower()
        return str(result.run_ids[-1] if name == "run_id" and result.run_ids else result.attempts)

    def value(self, key: str, name: str) -> Any:
        try:
            return self._values.lookup(key, name)
        except KeyError:
            raise ConfigError(
                f"{{{{tasks.{key}.values.{name}}}}}: task {key} ({self._results[key].state}) set no value {name!r}."
            ) from None


def summary(result: JobResult) -> str:
    """One row per task: state, attempts, seconds, exit value (or why it did not succeed)."""
    rows = []
    for task in result.tasks:
        shown = task.exit_value if task.state == SUCCESS and task.outcome is None else task.outcome or task.message
        shown = shown or ""
        if len(shown) > _EXIT_VALUE_SHOWN:
            shown = shown[: _EXIT_VALUE_SHOWN - 3] + "..."
        rows.append([task.key, task.state, str(task.attempts), f"{task.seconds:.1f}", shown])
    table = text_table(["task", "state", "attempts", "seconds", "exit value / outcome / reason"], rows, False)
    return f"{table}\nJob {result.name} (run {result.run_id}): {result.state} in {result.seconds:.1f} s"


def failures(result: JobResult) -> str:
    """What failed, task by task: the notebook, the cell and the traceback, or the reason."""
    parts = []
    for task in result.tasks:
        if task.state in (FAILED, TIMEDOUT):
            where = f"{task.failure.notebook}, cell {task.failure.cell}" if task.failure else task.message
            text = f"\n{task.failure.traceback_text.rstrip()}" if task.failure else ""
            parts.append(f"Task {task.key} {task.state} after {task.attempts} attempt(s): {where}{text}")
    return "\n\n".join(parts)
