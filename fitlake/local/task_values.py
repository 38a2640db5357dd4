"""``dbutils.jobs.taskValues``: values one task of a job sets and later tasks read, as on Databricks.

``set(key, value)`` keeps a JSON-representable value (its JSON text at most 48 KiB) under the running task's
key; ``get(taskKey, key, default=, debugValue=)`` returns the latest value that task set. In a job, a
``taskKey`` that names no task of the job and a key never set (without ``default``) raise ``ValueError``.
Outside a job (``fitlake notebook``, ``fitlake run``) ``set`` does nothing and ``get`` returns
``debugValue``, or raises ``TypeError`` when none is given: Databricks' own behaviour, so a notebook can be
run by hand with a stand-in value.
"""

from __future__ import annotations

import json
import threading
from typing import Any

MAX_VALUE_BYTES = 48 * 1024  # Databricks' limit on a task value's JSON representation
_NOT_GIVEN = object()


class TaskValueStore:
    """The task values of one job run: task key -> value key -> value (JSON-shaped)."""

    def __init__(self, task_keys: tuple[str, ...]):
        self.task_keys = task_keys
        self._values: dict[str, dict[str, Any]] = {key: {} for key in task_keys}
        self._lock = threading.Lock()

    def put(self, task_key: str, key: str, value: Any) -> None:
        with self._lock:
            self._values[task_key][key] = value

    def lookup(self, task_key: str, key: str) -> Any:
        """The value, or ``KeyError`` when ``task_key`` set none under ``key``."""
        with self._lock:
            return self._values[task_key][key]

    def of(self, task_key: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._values[task_key])


class TaskValues:
    """``dbutils.jobs.taskValues`` for one task of a job run, or for a notebook run outside any job."""

    def __init__(self, store: TaskValueStore | None, task_key: str | None):
        self._store = store
        self._task_key = task_key

    @classmethod
    def outside_a_job(cls) -> TaskValues:
        return cls(None, None)

    @classmethod
    def for_task(cls, store: TaskValueStore, task_key: str) -> TaskValues:
        return cls(store, task_key)

    def set(self, key: str, value: Any) -> None:
        """Set ``key`` of the running task to ``value`` (JSON-representable, at most 48 KiB as JSON)."""
        if not isinstance(key, str) or not key:
            raise TypeError(f"A task value key must be a non-empty string, got {key!r}.")
        try:
            text = json.dumps(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"Task value {key!r} must be representable as JSON: {error}") from None
        if len(text.encode("utf-8")) > MAX_VALUE_BYTES:
            raise ValueError(f"Task value {key!r} is {len(text.encode('utf-8'))} bytes as JSON; at most 48 KiB.")
        if self._store is not None and self._task_key is not None:
            self._store.put(self._task_key, key, json.loads(text))

    def get(
        self,
        taskKey: str,  # noqa: N803 - Databricks' parameter names
        key: str,
        default: Any = _NOT_GIVEN,
        debugValue: Any = _NOT_GIVEN,  # noqa: N803
    ) -> Any:
        """The latest value task ``taskKey`` set under ``key``; ``debugValue`` outside a job."""
        if self._store is None:
            if debugValue is _NOT_GIVEN or debugValue is None:
                raise TypeError(
                    f"dbutils.jobs.taskValues.get({taskKey!r}, {key!r}) ran outside a job: pass debugValue=... for "
                    "a value to use when the notebook runs by hand (or run it as a task with fitlake job run)."
                )
            return debugValue
        if taskKey not in self._store.task_keys:
            raise ValueError(
                f"Task values: the job has no task {taskKey!r} (its tasks: {', '.join(self._store.task_keys)})."
            )
        try:
            return self._store.lookup(taskKey, key)
        except KeyError:
            if default is not _NOT_GIVEN and default is not None:
                return default
            raise ValueError(
                f"Task values: task {taskKey!r} set no value {key!r} (it set: "
                f"{', '.join(self._store.of(taskKey)) or 'none'}); pass default=... to read it optionally."
            ) from None


class JobsUtils:
    """``dbutils.jobs``: its ``taskValues``."""

    def __init__(self, task_values: TaskValues):
        self.taskValues = task_values  # noqa: N815 - Databricks' attribute name
