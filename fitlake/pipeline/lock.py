"""One pipeline run per environment at a time: a lock file in the checkpoints folder.

Two runs at once would start two queries on each checkpoint, and a checkpoint has one writer. The lock is
created atomically (``O_EXCL`` for a local file; elsewhere the file system's create-if-absent), holds who
took it, and is removed when the run ends however it ends. A crashed run cannot remove it, so a lock counts
as held only while its holder can be alive: on this host, while its process exists; from another host, while
its heartbeat (renewed every ``HEARTBEAT_SECONDS``) is younger than ``STALE_AFTER_SECONDS``. A stale lock is
taken over, and the message says whose it was.

A run made of several notebooks (the driver chaining the layer notebooks, each of which Databricks runs in a
Python process of its own) holds the lock once, in the driver: each child is handed the holder's ``run`` as
its token and runs under the lock held for it (``run_lock(..., token=...)``) instead of taking it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from pyspark.sql import SparkSession

from fitlake.config import PipelineConfig
from fitlake.errors import FitlakeError
from fitlake.streaming import hadoop_file_ops

LOCK_NAME = "_run.lock"
HEARTBEAT_SECONDS = 30.0
STALE_AFTER_SECONDS = 300.0


class RunLockedError(FitlakeError):
    """Another run holds the environment."""


def lock_path(config: PipelineConfig) -> str:
    return config.checkpoint(LOCK_NAME)


@contextmanager
def run_lock(spark: SparkSession, config: PipelineConfig, mode: str, *, token: str = ""):
    """Hold the environment's run lock for the duration of the ``with`` block; refuse when another live run
    holds it (``RunLockedError`` naming that run); take over a stale one.

    With ``token`` (the ``run`` of a holder that runs this one as its part), take nothing: go on under that
    holder's lock, which it keeps and releases; refuse unless that holder holds the lock and is alive.
    """
    store = _LockFile(spark, lock_path(config))
    if token:
        yield _held_for(store, token, config.environment)
        return
    holder = {
        "run": uuid.uuid4().hex[:12],
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "mode": mode,
        "started": _now(),
    }
    _acquire(store, holder, config.environment)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, holder, stop), name="fitlake-run-lock", daemon=True)
    beat.start()
    try:
        yield holder
    finally:
        stop.set()
        beat.join()
        store.remove_if_ours(holder["run"])


def _acquire(store: _LockFile, holder: dict, environment: str) -> None:
    if store.create(_text(holder)):
        return
    current = store.read()
    if current is not None and _alive(current):
        raise RunLockedError(
            f"Another fitlake run is running on environment {environment!r}: run {current.get('run')} "
            f"({current.get('mode')} mode), started {current.get('started')} on host {current.get('host')}, "
            f"process {current.get('pid')}. Wait for it to end (or stop it), then run again. Its lock is "
            f"{store.path}; a run that crashed leaves it behind, and it is taken over once that process is "
            f"gone (or, from another host, {int(STALE_AFTER_SECONDS)} s after its last heartbeat)."
        )
    # Stale (its process is gone, or silent too long) or unreadable: take it over, once.
    store.remove()
    if not store.create(_text(holder)):
        raise RunLockedError(f"Another fitlake run took the lock {store.path} at the same moment; run again.")
    if current is not None:
        print(
            f"Took over the run lock of run {current.get('run')} (started {current.get('started')} on host "
            f"{current.get('host')}, process {current.get('pid')}), which is no longer running."
        )


def _held_for(store: _LockFile, token: str, environment: str) -> dict:
    current = store.read()
    if current is not None and current.get("run") == token and _alive(current):
        return current
    if current is None:
        found = "no run holds it"
    else:
        found = f"run {current.get('run')} holds it" + ("" if _alive(current) else ", and is no longer running")
    raise RunLockedError(
        f"This run was handed the run lock of run {token} on environment {environment!r}, but {found} "
        f"({store.path}). Only the driver holding the lock hands its token to the layer notebooks; a layer "
        f"notebook run without one takes the lock itself."
    )


def _alive(holder: dict) -> bool:
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        return _process_exists(holder["pid"])
    try:
        beat = datetime.fromisoformat(str(holder.get("heartbeat") or holder.get("started")))
    except ValueError:
        return False
    return (datetime.now(timezone.utc) - beat).total_seconds() < STALE_AFTER_SECONDS


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def _heartbeat(store: _LockFile, holder: dict, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        current = store.read()
        if current is None or current.get("run") != holder["run"]:
            return  # not ours any more (removed by hand, or taken over): never overwrite another's lock
        store.replace(_text({**holder, "heartbeat": _now()}))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _text(holder: dict) -> str:
    return json.dumps(holder, sort_keys=True)


class _LocalFile:
    """A local file with the operations of ``fitlake.streaming.HadoopFile``; create-if-absent is ``O_EXCL``,
    which Hadoop's local file system does not offer (it checks, then creates)."""

    def __init__(self, path: Path):
        self._path = path

    def create_new(self, text: str) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(handle, "w") as out:
            out.write(text)
        return True

    def read(self) -> str | None:
        try:
            return self._path.read_text()
        except FileNotFoundError:
            return None

    def write(self, text: str) -> None:
        temporary = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        temporary.write_text(text)
        os.replace(temporary, self._path)  # atomic: a reader sees the old holder or the new, never half

    def delete(self) -> None:
        self._path.unlink(missing_ok=True)


class _LockFile:
    """The lock file holding its holder as JSON: on a local ``file:`` path through the OS, on any other
    through Hadoop's file system, whose create without overwrite is create-if-absent."""

    def __init__(self, spark: SparkSession, path: str):
        self.path = path
        local = path.startswith("file:")
        self._file = _LocalFile(Path(path[len("file:") :])) if local else hadoop_file_ops(spark, path)
        if self._file is None:
            raise FitlakeError(f"Cannot hold a run lock at {path}: this session has no file system access.")

    def create(self, text: str) -> bool:
        """Create the lock holding ``text``; False when it exists already."""
        return self._file.create_new(text)

    def read(self) -> dict | None:
        """The holder, or None when there is no lock or it cannot be parsed (a half-written file)."""
        try:
            text = self._file.read()
        except OSError:
            return None
        if text is None:
            return None
        try:
            found = json.loads(text)
        except json.JSONDecodeError:
            return None
        return found if isinstance(found, dict) else None

    def replace(self, text: str) -> None:
        self._file.write(text)

    def remove(self) -> None:
        self._file.delete()

    def remove_if_ours(self, run: str) -> None:
        current = self.read()
        if current is not None and current.get("run") == run:
            self.remove()
