"""A Jobs API 2.1 job definition, read and checked for a local run before any task runs.

What a local run can do with each part of the definition:

- ``tasks``: ``notebook_task`` (its workspace path mapped back to this checkout's notebook through the
  environment's ``deployment.workspace_folder``) and ``condition_task`` run; every other task type
  (``spark_jar_task``, ``sql_task``, ``pipeline_task``, ``run_job_task``, ``for_each_task`` ...) is refused
  with the reason, as are a notebook on a SQL warehouse or from a Git source, and a disabled task.
- ``depends_on`` (with ``outcome`` after a condition task), ``run_if``, ``max_retries``,
  ``min_retry_interval_millis``, ``retry_on_timeout``, ``timeout_seconds`` (task and job), ``parameters``
  and ``base_parameters`` (with their dynamic value references, ``fitlake.local.job_refs``) are honoured.
- Compute, libraries, schedules, triggers, notifications, tags and queueing have no local meaning and are
  ignored: the local session is the cluster and the checkout's ``fitlake`` is the library.

Every problem is a ``ConfigError`` naming the file, the task and the field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fitlake.deployment.jobs import REVIEWED_JOBS
from fitlake.errors import ConfigError
from fitlake.local import job_refs

RUN_IF = ("ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED", "ALL_DONE", "AT_LEAST_ONE_FAILED", "ALL_FAILED")
DEFAULT_RUN_IF = "ALL_SUCCESS"
CONDITION_OPS = ("EQUAL_TO", "NOT_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL")
CONDITION_OUTCOMES = ("true", "false")
RUNNABLE_TASK_TYPES = ("notebook_task", "condition_task")
# Why the task types a job may hold, other than the runnable ones, cannot run here; any other *_task is refused
# too, as a Databricks service a local run does not have.
REFUSED_TASK_TYPES = {
    "spark_jar_task": "it runs a JAR's main class on a cluster",
    "spark_python_task": "it runs a Python file as a cluster's spark-submit application",
    "spark_submit_task": "it runs spark-submit on a cluster",
    "python_wheel_task": "it calls a wheel's entry point on a cluster",
    "sql_task": "it runs on a Databricks SQL warehouse",
    "dbt_task": "it runs dbt against a Databricks SQL warehouse",
    "pipeline_task": "it updates a Lakeflow (DLT) pipeline",
    "run_job_task": "it starts another job of the workspace",
    "for_each_task": "it fans a nested task out over inputs (not implemented locally)",
}
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Dependency:
    task_key: str
    outcome: str | None = None  # after a condition task: the outcome ("true" / "false") this edge needs


@dataclass(frozen=True)
class NotebookWork:
    notebook: Path  # the checkout's file
    workspace_path: str  # as the definition names it
    base_parameters: Mapping[str, str]


@dataclass(frozen=True)
class ConditionWork:
    op: str
    left: str
    right: str


@dataclass(frozen=True)
class Retries:
    max_retries: int = 0  # -1: retry until the task succeeds, as on Databricks
    min_interval_seconds: float = 0.0  # from the start of the failed attempt to the start of the next
    on_timeout: bool = False


@dataclass(frozen=True)
class TaskSpec:
    key: str
    work: NotebookWork | ConditionWork
    depends_on: tuple[Dependency, ...] = ()
    run_if: str = DEFAULT_RUN_IF
    timeout_seconds: int = 0  # 0: none
    retries: Retries = Retries()


@dataclass(frozen=True)
class JobSpec:
    name: str
    source: Path
    parameters: Mapping[str, str]  # name -> default, in definition order
    tasks: tuple[TaskSpec, ...]  # in run order: every task after its dependencies
    timeout_seconds: int = 0

    def task(self, key: str) -> TaskSpec:
        return next(task for task in self.tasks if task.key == key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(task.key for task in self.tasks)

    def upstream(self, key: str) -> frozenset[str]:
        """Every task ``key`` depends on, directly or through others."""
        seen: set[str] = set()
        pending = [dependency.task_key for dependency in self.task(key).depends_on]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending += [dependency.task_key for dependency in self.task(current).depends_on]
        return frozenset(seen)

    def leaves(self) -> tuple[str, ...]:
        """The tasks nothing depends on: their results decide the job's (as on Databricks)."""
        needed = {dependency.task_key for task in self.tasks for dependency in task.depends_on}
        return tuple(key for key in self.keys if key not in needed)


def job_file(ref: str, repo: Path) -> Path:
    """The JSON file ``ref`` names: a path to a file, or a job name of the repo's reviewed jobs."""
    reviewed = repo / REVIEWED_JOBS
    if ref.endswith(".json") or os.sep in ref or "/" in ref:
        path = Path(ref).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"Job definition {ref} does not exist.")
        return path
    named = reviewed / f"{ref}.json"
    if not named.is_file():
        known = ", ".join(sorted(path.stem for path in reviewed.glob("*.json"))) or "none"
        raise ConfigError(f"No job named {ref!r} in {reviewed} (its jobs: {known}); or give the path of a JSON file.")
    return named


def load_job(path: Path, notebook_for: Callable[[str], Path]) -> JobSpec:
    """Read and check the job definition at ``path``; ``notebook_for`` maps a workspace path to a checkout file."""
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: not a readable JSON job definition: {error}") from None
    return parse_job(settings, path, notebook_for)


def parse_job(settings: Any, source: Path, notebook_for: Callable[[str], Path]) -> JobSpec:
    """``settings`` (Jobs API 2.1 job settings) as a checked ``JobSpec``; every reference is checked too."""
    if not isinstance(settings, dict):
        raise ConfigError(f"{source}: a job definition is a JSON object (the job's settings).")
    tasks = settings.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(f"{source}: the job has no tasks (a non-empty 'tasks' array expected).")
    git = settings.get("git_source") is not None
    _refuse_what_cannot_run(source, tasks)
    parsed = [_task(source, number, task, notebook_for, git) for number, task in enumerate(tasks, start=1)]
    spec = JobSpec(
        name=_string(source, settings, "name", "job") if "name" in settings else source.stem,
        source=source,
        parameters=_parameters(source, settings.get("parameters", [])),
        tasks=run_order(source, parsed),
        timeout_seconds=_count(source, settings, "timeout_seconds", "job", minimum=0),
    )
    _check_outcomes(spec)
    _check_references(spec)
    return spec


def run_order(source: Path, tasks: list[TaskSpec]) -> tuple[TaskSpec, ...]:
    """The tasks with each after its dependencies; among tasks ready together, definition order.

    Raises:
        ConfigError: a duplicate key, a dependency on no task of the job, or a cycle (named in order).
    """
    by_key: dict[str, TaskSpec] = {}
    for task in tasks:
        if task.key in by_key:
            raise ConfigError(f"{source}: two tasks have the key {task.key!r}; task keys must be unique.")
        by_key[task.key] = task
    for task in tasks:
        for dependency in task.depends_on:
            if dependency.task_key not in by_key:
                raise ConfigError(
                    f"{source}: task {task.key} depends on {dependency.task_key!r}, which is no task of the job "
                    f"(its tasks: {', '.join(by_key)})."
                )
    ordered: list[TaskSpec] = []
    done: set[str] = set()
    while len(ordered) < len(tasks):
        ready = [t for t in tasks if t.key not in done and all(d.task_key in done for d in t.depends_on)]
        if not ready:
            raise ConfigError(f"{source}: the tasks depend on each other in a cycle: {_cycle(tasks, done)}.")
        ordered.append(ready[0])
        done.add(ready[0].key)
    return tuple(ordered)


def _cycle(tasks: list[TaskSpec], done: set[str]) -> str:
    """One cycle among the tasks left when none is ready: each of them waits for another of them."""
    waiting = {t.key: [d.task_key for d in t.depends_on if d.task_key not in done] for t in tasks if t.key not in done}
    path = [next(iter(waiting))]
    while path.count(path[-1]) < 2:
        path.append(waiting[path[-1]][0])
    start = path.index(path[-1])
    return " -> ".join(path[start:])


def _refuse_what_cannot_run(source: Path, tasks: list[Any]) -> None:
    """One error naming every task of a type a local run cannot run, and why: before anything runs."""
    refused = []
    for task in tasks:
        kinds = [name for name in task if name.endswith("_task")] if isinstance(task, dict) else []
        for kind in (kind for kind in kinds if kind not in RUNNABLE_TASK_TYPES):
            reason = REFUSED_TASK_TYPES.get(kind, "it needs a Databricks service that a local run does not have")
            refused.append(f"task {task.get('task_key', '?')} is a {kind}: {reason}")
    if refused:
        raise ConfigError(
            f"{source}: this job cannot run locally, so nothing of it has run:\n  "
            + "\n  ".join(refused)
            + f"\nLocally a job runs these task types: {', '.join(RUNNABLE_TASK_TYPES)}."
        )


def _task(source: Path, number: int, task: Any, notebook_for: Callable[[str], Path], git: bool) -> TaskSpec:
    if not isinstance(task, dict):
        raise ConfigError(f"{source}: tasks[{number}] is not an object.")
    key = _string(source, task, "task_key", f"tasks[{number}]")
    where = f"task {key}"
    if task.get("disabled") is True:
        raise ConfigError(f"{source}: {where} is disabled; a local run does not skip tasks: remove it or the flag.")
    kinds = [name for name in task if name.endswith("_task")]
    if len(kinds) != 1:
        raise ConfigError(f"{source}: {where} needs exactly one task type (such as notebook_task), found {kinds}.")
    kind = kinds[0]
    body = task[kind]
    work = (
        _notebook(source, where, body, notebook_for, git)
        if kind == "notebook_task"
        else _condition(source, where, body)
    )
    retries = Retries(
        max_retries=_count(source, task, "max_retries", where, minimum=-1),
        min_interval_seconds=_count(source, task, "min_retry_interval_millis", where, minimum=0) / 1000,
        on_timeout=_flag(source, task, "retry_on_timeout", where),
    )
    if isinstance(work, ConditionWork) and retries.max_retries:
        raise ConfigError(f"{source}: {where} is a condition_task, which does not retry (max_retries must be 0).")
    run_if = task.get("run_if", DEFAULT_RUN_IF)
    if run_if not in RUN_IF:
        raise ConfigError(f"{source}: {where}: run_if {run_if!r} is not one of {', '.join(RUN_IF)}.")
    return TaskSpec(
        key=key,
        work=work,
        depends_on=_dependencies(source, where, task.get("depends_on", [])),
        run_if=run_if,
        timeout_seconds=_count(source, task, "timeout_seconds", where, minimum=0),
        retries=retries,
    )


def _notebook(source: Path, where: str, body: Any, notebook_for: Callable[[str], Path], git: bool) -> NotebookWork:
    if not isinstance(body, dict):
        raise ConfigError(f"{source}: {where}: notebook_task is not an object.")
    path = _string(source, body, "notebook_path", f"{where}: notebook_task")
    if body.get("source", "GIT" if git else "WORKSPACE") != "WORKSPACE":
        raise ConfigError(
            f"{source}: {where} takes its notebook from the job's git_source, which a local run does not check out; "
            "use a workspace path (source WORKSPACE), which maps to this checkout."
        )
    if body.get("warehouse_id"):
        raise ConfigError(f"{source}: {where} runs its notebook on a SQL warehouse, which a local run does not have.")
    parameters = body.get("base_parameters", {})
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        raise ConfigError(f"{source}: {where}: base_parameters must map names to strings, got {parameters!r}.")
    try:
        notebook = notebook_for(path)
    except ConfigError as error:
        hint = " Is it another environment's job? --env chooses the environment."
        raise ConfigError(f"{source}: {where}: {error}{hint}") from None
    return NotebookWork(notebook=notebook, workspace_path=path, base_parameters=dict(parameters))


def _condition(source: Path, where: str, body: Any) -> ConditionWork:
    if not isinstance(body, dict) or body.get("op") not in CONDITION_OPS:
        raise ConfigError(f"{source}: {where}: condition_task needs an op, one of {', '.join(CONDITION_OPS)}.")
    operands = [_string(source, body, side, f"{where}: condition_task", empty=True) for side in ("left", "right")]
    return ConditionWork(op=body["op"], left=operands[0], right=operands[1])


def _dependencies(source: Path, where: str, value: Any) -> tuple[Dependency, ...]:
    if not isinstance(value, list) or not all(
        isinstance(d, dict) and isinstance(d.get("task_key"), str) for d in value
    ):
        raise ConfigError(f'{source}: {where}: depends_on must be a list of {{"task_key": ...}} objects.')
    keys = [d["task_key"] for d in value]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{source}: {where} lists a dependency twice: {keys}.")
    return tuple(Dependency(d["task_key"], d.get("outcome")) for d in value)


def _check_outcomes(spec: JobSpec) -> None:
    """``outcome`` belongs on dependencies on a condition task, and is "true" or "false"."""
    for task in spec.tasks:
        for dependency in task.depends_on:
            upstream_is_condition = isinstance(spec.task(dependency.task_key).work, ConditionWork)
            if dependency.outcome is None and not upstream_is_condition:
                continue
            if not upstream_is_condition or dependency.outcome not in CONDITION_OUTCOMES:
                raise ConfigError(
                    f"{spec.source}: task {task.key}: its dependency on {dependency.task_key} needs an outcome "
                    f'("true" or "false") exactly when {dependency.task_key} is a condition_task.'
                )


def _check_references(spec: JobSpec) -> None:
    """Every dynamic value reference must name something the local run has, before anything runs."""
    names = tuple(spec.parameters)
    for name, default in spec.parameters.items():
        job_refs.check(
            default, f"{spec.source}: job parameter {name}", parameters=names, tasks=spec.keys, upstream=None
        )
    for task in spec.tasks:
        upstream = spec.upstream(task.key)
        texts = task.work.base_parameters if isinstance(task.work, NotebookWork) else {
            "left": task.work.left, "right": task.work.right,
        }  # fmt: skip
        for field, text in texts.items():
            where = f"{spec.source}: task {task.key}, {field}"
            job_refs.check(text, where, parameters=names, tasks=spec.keys, upstream=upstream)


def _parameters(source: Path, value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        raise ConfigError(f'{source}: parameters must be a list of {{"name": ..., "default": ...}} objects.')
    parameters: dict[str, str] = {}
    for number, item in enumerate(value, start=1):
        where = f"parameters[{number}]"
        name = _string(source, item if isinstance(item, dict) else {}, "name", where)
        if not _PARAMETER_NAME.fullmatch(name) or name in parameters:
            raise ConfigError(
                f"{source}: {where}: {name!r} is a duplicate or has characters other than A-Z a-z 0-9 _ . -"
            )
        parameters[name] = _string(source, item, "default", f"job parameter {name}", empty=True)
    return parameters


def _string(source: Path, table: dict, key: str, where: str, *, empty: bool = False) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not (value or empty):
        raise ConfigError(f"{source}: {where}: {key} must be a {'' if empty else 'non-empty '}string, got {value!r}.")
    return value


def _count(source: Path, table: dict, key: str, where: str, *, minimum: int) -> int:
    value = table.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{source}: {where}: {key} must be a whole number >= {minimum}, got {value!r}.")
    return value


def _flag(source: Path, table: dict, key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {where}: {key} must be true or false, got {value!r}.")
    return value
