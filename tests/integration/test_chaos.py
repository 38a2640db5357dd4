"""The crash harness at a small size: the driver SIGKILLed (its whole process group) at a crash point and at
random moments, in batch and in continuous mode, restarted, and its lake compared with an uninterrupted one.

Proves "Exactly once" of docs/pipeline.md under real kills of the process, in both modes: every table of the
killed lake equals the clean lake's, row for row (no duplicates, the same quarantine rows). The figures of
a large run are in docs/pipeline.md; ``fitlake chaos`` plays any size.

A full disk is the same story with another interruption: the run fails, and the rerun loses nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fitlake import chaos
from fitlake.errors import NO_SPACE, StorageFullError
from fitlake.parameters import BATCH, CONTINUOUS
from fitlake.sample.generator import shipped_sets
from fitlake.tables import TABLES

pytestmark = pytest.mark.integration


SETS = shipped_sets()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> chaos.Reference:
    """The uninterrupted lake, built once for both modes."""
    return chaos.build_reference(tmp_path_factory.mktemp("chaos-reference"), SETS)


@pytest.mark.parametrize(
    ("mode", "points"),
    [(BATCH, ("silver.user_profile", "gold.workout_bpm_summary")), (CONTINUOUS, ("silver.heart_rate",))],
)
def test_killed_and_restarted_the_lake_equals_an_uninterrupted_one(spark, tmp_path, reference, mode, points):
    plan = chaos.ChaosPlan(tmp_path, mode=mode, kills=1, points=points, seed=7, sets=SETS)
    report = chaos.play(plan, spark, reference)
    print(report.as_text())
    # Every flow named has a batch of set 2 ahead of it (in continuous mode the first part of set 2 is Kafka
    # records), so each point kills its run.
    # A random moment may fall after a run's end (then it is counted, not killed).
    assert report.point_kills == len(points), report.as_text()
    assert report.random_kills + report.ended_before_kill == 1, report.as_text()
    assert [table.table for table in report.tables] == sorted(f"{spec.schema}.{spec.name}" for spec in TABLES)
    assert report.rows_compared > 0 and report.differences == 0, report.as_text()


PLAY_FULL_DISK = Path(__file__).with_name("full_disk_play.py")
TMPFS_MIB = 64  # the lake holds ~10 MB after both sets
LEAVE_KIB = 1024  # set 2's run writes ~2.7 MB: with 1 MiB free bronze commits, then silver's writes fail


def _can_mount() -> bool:
    probe = ["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"]
    return shutil.which("unshare") is not None and subprocess.run(probe, capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs `unshare -m` and mount (root) for a small tmpfs to fill up")
def test_a_run_on_a_full_disk_fails_saying_so_and_the_rerun_after_freeing_space_loses_nothing(
    spark, tmp_path, reference
):
    """Issue 10, a full disk: the lake lives on a 64 MiB tmpfs (a mount namespace of the test's own), which a
    filler file fills while set 2 waits in the landing zone. The run fails with the plain "disk is full"
    error, not a JVM stack alone (and the local runtime's run record, which cannot be written either, does not
    mask it); once the filler is gone, a rerun finishes the set, and every table equals
    the uninterrupted lake's: nothing landed was lost, nothing applied twice."""
    lake, copy, result = tmp_path / "lake", tmp_path / "copy", tmp_path / "result.json"
    lake.mkdir()
    script = f'mount -t tmpfs -o size={TMPFS_MIB}m tmpfs "$1" && shift && exec "$@"'
    play = [sys.executable, str(PLAY_FULL_DISK), str(lake), str(copy), str(result), "--sets", *map(str, SETS)]
    play.append(f"--leave-kib={LEAVE_KIB}")
    ended = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(lake), *play],
        capture_output=True,
        text=True,
    )
    runs_log = (tmp_path / "runs.log").read_text(errors="replace") if (tmp_path / "runs.log").exists() else ""
    assert ended.returncode == 0, f"{ended.stdout}\n{ended.stderr}\n{runs_log[-5000:]}"
    played = json.loads(result.read_text())
    output = played["full_disk_output"]
    assert played["full_disk_exit"] != 0, output[-5000:]
    # The silver stage's Spark writes meet the full disk (bronze's fit in the space left): the pipeline says so
    # (StorageFullError, not the JVM's stack alone), and the command's last word is the plain error.
    assert StorageFullError.__name__ in output, output[-5000:]
    assert output.rstrip().splitlines()[-1].startswith("ERROR: The disk holding"), output[-5000:]
    assert NO_SPACE in output
    report = chaos.compare_lakes(reference.root, copy, spark)
    assert sum(table.expected_rows for table in report) > 0
    assert sum(table.missing + table.extra for table in report) == 0, "\n".join(map(str, report))
