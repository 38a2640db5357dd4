"""The test-only crash points: off unless named, raise or SIGKILL the process group when named."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fitlake import crash_points
from fitlake.errors import FitlakeError


def test_unset_or_aimed_at_another_flow_does_nothing(monkeypatch):
    monkeypatch.delenv(crash_points.CRASH_AFTER_BATCH, raising=False)
    crash_points.after_batch("silver.users", 3)
    monkeypatch.setenv(crash_points.CRASH_AFTER_BATCH, "silver.gym_logs, gold.workout_bpm_summary, silver.users@2")
    crash_points.after_batch("silver.users", 3)


@pytest.mark.parametrize("named", ["silver.users", "bronze.gym_logins_bz, silver.users", "silver.users@3", "*"])
def test_a_named_flow_raises_by_default_naming_the_flow_and_batch(monkeypatch, named):
    monkeypatch.setenv(crash_points.CRASH_AFTER_BATCH, named)
    monkeypatch.delenv(crash_points.CRASH_MODE, raising=False)
    with pytest.raises(crash_points.CrashPointError, match="crash point: silver.users batch 3 wrote its tables"):
        crash_points.after_batch("silver.users", 3)


@pytest.mark.parametrize("named", ["silver.workouts/events", "silver.workouts/events@3"])
def test_a_point_between_writes_raises_when_named_by_its_own_name(monkeypatch, named):
    monkeypatch.setenv(crash_points.CRASH_AFTER_BATCH, named)
    monkeypatch.delenv(crash_points.CRASH_MODE, raising=False)
    with pytest.raises(crash_points.CrashPointError, match="silver.workouts/events batch 3 wrote events only"):
        crash_points.after_write("silver.workouts", "events", 3)


@pytest.mark.parametrize("named", ["*", "silver.workouts", "silver.workouts/events@2", "silver.workouts/other"])
def test_a_point_between_writes_is_not_set_off_by_the_flow_or_every_flow(monkeypatch, named):
    """``*`` and the flow's name mean the point after the batch's writes (the crash harness's), not this one."""
    monkeypatch.setenv(crash_points.CRASH_AFTER_BATCH, named)
    crash_points.after_write("silver.workouts", "events", 3)


def test_an_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv(crash_points.CRASH_AFTER_BATCH, "*")
    monkeypatch.setenv(crash_points.CRASH_MODE, "explode")
    with pytest.raises(FitlakeError, match="FITLAKE_CRASH_MODE must be 'raise' or 'kill', got 'explode'"):
        crash_points.after_batch("silver.users", 0)


def test_kill_mode_sigkills_the_whole_process_group():
    """A process in a group of its own (as the crash harness starts a driver) with a child in that group:
    both die by SIGKILL, nothing after the point runs."""
    program = (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "os.environ['FITLAKE_CRASH_AFTER_BATCH'] = 'silver.users'\n"
        "os.environ['FITLAKE_CRASH_MODE'] = 'kill'\n"
        "from fitlake import crash_points\n"
        "crash_points.after_batch('silver.users', 1)\n"
        "print('survived', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, start_new_session=True)
    assert done.returncode == -signal.SIGKILL and "survived" not in done.stdout
    child = int(done.stdout.split()[0])
    assert _ends(child), f"process {child} outlived its killed group"


def _ends(pid: int) -> bool:
    """Whether ``pid`` is gone (or a zombie awaiting its reaper) within a generous guard of 10 s."""
    for _ in range(200):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False
