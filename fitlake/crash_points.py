"""Test-only crash points: end a micro-batch the way a crash would, after its writes and before its commit.

A flow's handler commits its Delta writes (MERGEs, idempotent appends) inside ``foreachBatch``; Spark writes
the batch's commit file to the checkpoint only after the handler returns. A process that dies in between
leaves the worst case for exactly-once: the tables hold the batch, the checkpoint says it never finished, and
the restart replays it. These points put a run into that state on purpose, so tests and the crash harness
can prove the replay changes nothing.

Off unless ``FITLAKE_CRASH_AFTER_BATCH`` names flows (``silver.users,gold.workout_bpm_summary``, or ``*`` for
every flow), each at every batch or at one (``bronze.kafka_multiplex_bz@2``). Then, after a named flow's handler
returns, the point acts per ``FITLAKE_CRASH_MODE``:

- ``raise`` (the default): raise ``CrashPointError``. Spark fails the query without committing the batch,
  as a crash would leave it, and an in-process test can go on with a restart.
- ``kill``: SIGKILL this process's whole process group (the Python driver and its JVM), as the crash harness
  does to a driver it started in a group of its own. Nothing runs after it: no ``finally``, no shutdown hook.

A handler that writes more than one table also has a point between its writes, named ``<flow>/<write>`` (as
``silver.workouts/events``, right after the events' MERGE and before the completions it derives from them); only
its own name, not ``*``, sets it off.

The variables are read at every batch, so a test can aim them at another flow between two runs. Nothing here
runs in production: no job, notebook or config sets them.
"""

from __future__ import annotations

import os
import signal

from fitlake.errors import FitlakeError

CRASH_AFTER_BATCH = "FITLAKE_CRASH_AFTER_BATCH"
CRASH_MODE = "FITLAKE_CRASH_MODE"
RAISE, KILL = "raise", "kill"
EVERY_FLOW = "*"


class CrashPointError(FitlakeError):
    """A crash point ended a micro-batch after its writes and before its checkpoint commit (tests only)."""


def after_batch(flow: str, batch_id: int) -> None:
    """Crash here if ``FITLAKE_CRASH_AFTER_BATCH`` names ``flow``; called once a batch's writes have committed."""
    if _named(flow, batch_id, EVERY_FLOW):
        _crash(f"crash point: {flow} batch {batch_id} wrote its tables; its commit is not written")


def write_point(flow: str, write: str) -> str:
    """The name of the point in ``flow``'s batches right after its write ``write``."""
    return f"{flow}/{write}"


def after_write(flow: str, write: str, batch_id: int) -> None:
    """Crash here if ``FITLAKE_CRASH_AFTER_BATCH`` names ``<flow>/<write>``: a batch's ``write`` committed, its
    handler's next writes not."""
    point = write_point(flow, write)
    if _named(point, batch_id):
        _crash(f"crash point: {point} batch {batch_id} wrote {write} only; the rest of the batch is not written")


def _named(point: str, batch_id: int, *also: str) -> bool:
    named = os.environ.get(CRASH_AFTER_BATCH, "")
    if not named:
        return False
    points = {name.strip() for name in named.split(",")}
    return bool(points & {point, f"{point}@{batch_id}", *also})


def _crash(message: str) -> None:
    mode = os.environ.get(CRASH_MODE, RAISE)
    if mode == KILL:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    if mode != RAISE:
        raise FitlakeError(f"{CRASH_MODE} must be {RAISE!r} or {KILL!r}, got {mode!r}.")
    raise CrashPointError(message)
