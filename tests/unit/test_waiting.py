"""The tests' wait-for-event helper: returns on the event, fails at once when it can no longer happen, and
otherwise fails only at its hang guard, with a message naming the event."""

from __future__ import annotations

import threading

import pytest
from waiting import join, wait_for


def test_returns_the_events_value_once_it_happens():
    looks = iter([None, 0, "", "there"])
    assert wait_for(lambda: next(looks), "the answer", poll_seconds=0) == "there"


def test_fails_at_once_naming_why_the_event_can_no_longer_happen():
    with pytest.raises(AssertionError, match=r"batch 3 never happened: the driver exited with 1\n.*\nlast lines"):
        wait_for(lambda: False, "batch 3", gone=lambda: "the driver exited with 1", state=lambda: "last lines")


def test_an_event_that_happened_just_before_the_end_still_counts():
    looks = iter([False, True])
    assert wait_for(lambda: next(looks), "the file", gone=lambda: "the writer exited") is True


def test_the_hang_guard_fails_naming_the_event_and_the_last_state():
    with pytest.raises(AssertionError, match=r"(?s)the tables' state has not happened after 0 s: hung.*\['one'\]"):
        wait_for(lambda: False, "the tables' state", state=lambda: ["one"], guard_seconds=0)


def test_join_returns_when_the_thread_ends_and_fails_at_the_guard_while_it_runs():
    release = threading.Event()
    worker = threading.Thread(target=release.wait, daemon=True)
    worker.start()
    with pytest.raises(AssertionError, match="the worker is still running after 0 s: hung"):
        join(worker, "the worker", guard_seconds=0)
    release.set()
    join(worker, "the worker")
    assert not worker.is_alive()
