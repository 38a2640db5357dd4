"""Waiting in tests for an event (a file, a query's progress, a process's or thread's end), never for a time.

A test that waits polls for the event itself. It fails at once when the event can no longer happen (the
process it waits on exited, the thread ended), and otherwise only when it has plainly hung:
``HANG_GUARD_SECONDS`` is far beyond what any wait here takes even on a busy 2-core machine, so it never
judges speed. How long things take is the benchmark's business (``make bench``), not a test's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

# Long enough that reaching it means a hang, short enough that a hung test still fails inside CI's 90 minutes
# with its message, rather than being cut off with none.
HANG_GUARD_SECONDS = 900.0

T = TypeVar("T")


def wait_for(
    event: Callable[[], T],
    what: str,
    *,
    gone: Callable[[], str | None] = lambda: None,
    state: Callable[[], object] = lambda: None,
    poll_seconds: float = 0.2,
    guard_seconds: float = HANG_GUARD_SECONDS,
) -> T:
    """Poll until ``event()`` returns a truthy value, and return that value.

    Args:
        event: checks once whether the event happened; its truthy result is returned.
        what: the event, as the failure messages name it ("batch 3 in the checkpoint").
        gone: says why the event can no longer happen (e.g. "the driver exited with 1"), or None while it still
            can; a reason fails the wait at once, after one last look at ``event``.
        state: what the failure message shows of the last state seen (e.g. the last mismatches).
        poll_seconds: the pause between two looks.
        guard_seconds: the hang guard (see the module's docstring); not a time the event must beat.

    Raises:
        AssertionError: naming ``what`` when the event can no longer happen, or when the hang guard is reached.
    """
    guard = time.monotonic() + guard_seconds
    while True:
        happened = event()
        if happened:
            return happened
        reason = gone()
        if reason is not None:
            happened = event()  # it may have happened just before the end that makes it impossible
            if happened:
                return happened
            raise AssertionError(f"{what} never happened: {reason}{_shown(state())}")
        if time.monotonic() >= guard:
            raise AssertionError(
                f"{what} has not happened after {guard_seconds:.0f} s: hung (the hang guard is far beyond any "
                f"normal wait){_shown(state())}"
            )
        time.sleep(poll_seconds)


def join(thread: threading.Thread, what: str, *, guard_seconds: float = HANG_GUARD_SECONDS) -> None:
    """Wait for ``thread`` to end; fail naming ``what`` if it is still running at the hang guard."""
    thread.join(guard_seconds)
    if thread.is_alive():
        raise AssertionError(f"{what} is still running after {guard_seconds:.0f} s: hung (the hang guard)")


def _shown(state: object) -> str:
    return "" if state is None else f"\nlast state seen:\n{state}"
