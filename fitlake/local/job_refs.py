"""Dynamic value references in a job definition (``{{job.parameters.x}}``, ``{{tasks.a.values.b}}`` ...).

As on Databricks: ``{{ ... }}`` holding a dotted name of a known namespace (``job``, ``task``, ``tasks``,
``workspace``, ``backfill``) is replaced by its value as a string when the job or the task starts; a name
part with characters other than letters, digits and ``_`` is written in backticks (``{{job.parameters.`my-x`}}``);
double braces holding anything else (another namespace, a syntax error) stay as they are written; an unknown
name in a known namespace is an error. Locally ``check`` finds those errors before any task runs.

Supported: ``job.id``, ``job.name``, ``job.run_id``, ``job.repair_count``, ``job.trigger.type``,
``job.parameters.<name>``, ``job.start_time.<field>``; ``task.name``, ``task.run_id``,
``task.execution_count``, ``task.notebook_path``; ``tasks.<key>.values.<name>``, ``tasks.<key>.result_state``,
``tasks.<key>.run_id``, ``tasks.<key>.execution_count`` (``<key>`` must be upstream of the referring task).
``workspace.*`` and ``backfill.*`` name things a local run does not have, and are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from fitlake.errors import ConfigError

KNOWN_NAMESPACES = ("job", "task", "tasks", "workspace", "backfill")
LOCAL_TRIGGER = "onetime"  # {{job.trigger.type}}: a local run is started once, by hand
START_TIME_FIELDS: dict[str, Callable[[datetime], str]] = {
    "iso_weekday": lambda t: str(t.isoweekday()),
    "is_weekday": lambda t: "true" if t.isoweekday() <= 5 else "false",
    "iso_date": lambda t: t.date().isoformat(),
    "iso_datetime": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"),
    "year": lambda t: str(t.year),
    "month": lambda t: str(t.month),
    "day": lambda t: str(t.day),
    "hour": lambda t: str(t.hour),
    "minute": lambda t: str(t.minute),
    "second": lambda t: str(t.second),
    "timestamp_ms": lambda t: str(int(t.timestamp() * 1000)),
}
_JOB_FIELDS = ("id", "name", "run_id", "repair_count")
_TASK_FIELDS = ("name", "run_id", "execution_count", "notebook_path")
_OTHER_TASK_FIELDS = ("result_state", "run_id", "execution_count")
_BRACES = re.compile(r"\{\{(.*?)\}\}")
_PART = re.compile(r"\s*(?:`([^`]+)`|([A-Za-z0-9_]+))\s*(\.|$)")


@dataclass(frozen=True)
class RunFacts:
    """What the job run's references name: ids, start time, the job parameters' values."""

    job_id: int
    job_name: str
    run_id: int
    start_time: datetime
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class TaskFacts:
    """What ``{{task.*}}`` names for the task being started."""

    name: str
    run_id: int
    execution_count: int
    notebook_path: str | None


class EarlierTasks(Protocol):
    """What ``{{tasks.<key>.*}}`` names: the tasks that have ended before this one starts."""

    def field(self, key: str, name: str) -> str: ...

    def value(self, key: str, name: str) -> Any: ...


def parts_of(inner: str) -> tuple[str, ...] | None:
    """``job.parameters.`a-b``` -> ("job", "parameters", "a-b"); None when it is no dotted name (kept literally)."""
    parts, position = [], 0
    while position < len(inner):
        match = _PART.match(inner, position)
        if match is None:
            return None
        parts.append(match[1] if match[1] is not None else match[2])
        position = match.end()
        ended = match[3] == ""
        if ended != (position == len(inner)):  # text after the last name, or a dot with no name after it
            return None
    return tuple(parts) or None


def references(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each reference of ``text`` in a known namespace: (as written, its name parts)."""
    found = []
    for match in _BRACES.finditer(text):
        parts = parts_of(match[1])
        if parts and parts[0] in KNOWN_NAMESPACES:
            found.append((match[0], parts))
    return found


def check(
    text: str,
    where: str,
    *,
    parameters: Collection[str],
    tasks: Collection[str],
    upstream: Collection[str] | None,
) -> None:
    """Refuse every reference of ``text`` that cannot be resolved.

    Args:
        where: what holds ``text``, for the message ("task run_set1, base_parameters.set").
        parameters: the job's parameter names.
        tasks: every task key of the job.
        upstream: the task keys upstream of the task holding ``text``; None for a job parameter's value, where
            neither ``task.*`` nor ``tasks.*`` nor other job parameters have a value yet.

    Raises:
        ConfigError: naming ``where``, the reference and what would be valid there.
    """
    for written, parts in references(text):
        problem = _problem(parts, parameters=parameters, tasks=tasks, upstream=upstream)
        if problem:
            raise ConfigError(f"{where}: {written} {problem}.")


def resolve(text: str, run: RunFacts, task: TaskFacts | None = None, earlier: EarlierTasks | None = None) -> str:
    """``text`` with each reference replaced by its value (``check`` has accepted ``text`` already).

    Raises:
        ConfigError: a value the reference names does not exist (yet): a task value never set.
    """

    def replace(match: re.Match[str]) -> str:
        parts = parts_of(match[1])
        if not parts or parts[0] not in KNOWN_NAMESPACES:
            return match[0]
        return _value(parts, run, task, earlier)

    return _BRACES.sub(replace, text)


def _problem(
    parts: tuple[str, ...], *, parameters: Collection[str], tasks: Collection[str], upstream: Collection[str] | None
) -> str | None:
    namespace, rest = parts[0], parts[1:]
    if namespace in ("workspace", "backfill"):
        return f"names the Databricks {namespace}, which a local run does not have"
    if namespace == "job":
        return _job_problem(rest, parameters, in_task=upstream is not None)
    if upstream is None:
        return "has no value in a job parameter (only in a task's parameters)"
    if namespace == "task":
        return (
            None if len(rest) == 1 and rest[0] in _TASK_FIELDS else f"is unknown: use task.{{{','.join(_TASK_FIELDS)}}}"
        )
    return _tasks_problem(rest, tasks, upstream)


def _job_problem(rest: tuple[str, ...], parameters: Collection[str], *, in_task: bool) -> str | None:
    if len(rest) == 1 and rest[0] in _JOB_FIELDS or rest == ("trigger", "type"):
        return None
    if len(rest) == 2 and rest[0] == "parameters":
        if not in_task:
            return "refers to a job parameter from another job parameter's value"
        known = ", ".join(parameters) or "none"
        return None if rest[1] in parameters else f"names no parameter of the job (its parameters: {known})"
    if len(rest) == 2 and rest[0] == "start_time":
        return None if rest[1] in START_TIME_FIELDS else f"is unknown: start_time takes {', '.join(START_TIME_FIELDS)}"
    return (
        f"is unknown: use job.{{{','.join(_JOB_FIELDS)}}}, job.trigger.type, job.parameters.<name> or "
        "job.start_time.<field>"
    )


def _tasks_problem(rest: tuple[str, ...], tasks: Collection[str], upstream: Collection[str]) -> str | None:
    if not (len(rest) == 3 and rest[1] == "values" or len(rest) == 2 and rest[1] in _OTHER_TASK_FIELDS):
        return f"is unknown: use tasks.<key>.values.<name> or tasks.<key>.{{{','.join(_OTHER_TASK_FIELDS)}}}"
    if rest[0] not in tasks:
        return f"names no task of the job (its tasks: {', '.join(tasks)})"
    if rest[0] not in upstream:
        return f"names task {rest[0]}, which is not upstream of this task (add it to depends_on)"
    return None


def _value(parts: tuple[str, ...], run: RunFacts, task: TaskFacts | None, earlier: EarlierTasks | None) -> str:
    namespace, rest = parts[0], parts[1:]
    if namespace == "job":
        return _job_value(rest, run)
    if namespace == "task" and task is not None:
        value = {"name": task.name, "run_id": task.run_id, "execution_count": task.execution_count}.get(rest[0])
        if rest[0] == "notebook_path":
            value = task.notebook_path
        if value is None:
            raise ConfigError(f"{{{{task.{rest[0]}}}}} has no value in task {task.name} (not a notebook task).")
        return str(value)
    if namespace == "tasks" and earlier is not None:
        if rest[1] == "values":
            return _as_text(earlier.value(rest[0], rest[2]))
        return earlier.field(rest[0], rest[1])
    raise ConfigError(f"{{{{{'.'.join(parts)}}}}} has no value here.")


def _job_value(rest: tuple[str, ...], run: RunFacts) -> str:
    if rest == ("trigger", "type"):
        return LOCAL_TRIGGER
    if rest[0] == "parameters":
        return run.parameters[rest[1]]
    if rest[0] == "start_time":
        return START_TIME_FIELDS[rest[1]](run.start_time)
    return str({"id": run.job_id, "name": run.job_name, "run_id": run.run_id, "repair_count": 0}[rest[0]])


def _as_text(value: Any) -> str:
    """A task value as a reference renders it: strings as they are, anything else as JSON (true, 3, [1])."""
    return value if isinstance(value, str) else json.dumps(value)
