"""The crash harness at a small size: the driver SIGKILLed (its whole process group) at a crash point and at
random moments, in batch and in continuous mode, restarted, and its lake compared with an uninterrupted one.

Proves "Exactly once" of docs/pipeline.md under real kills of the process, in both modes: every table of the
killed lake equals the clean lake's, row for row (no duplicates, the same quarantine rows). The figures of
a large run are in docs/pipeline.md; ``fitlake chaos`` plays any size.
"""

from __future__ import annotations

import pytest

from fitlake import chaos
from fitlake.streaming import BATCH, CONTINUOUS
from fitlake.tables import TABLES

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("mode", "points"),
    [(BATCH, ("silver.user_profile", "gold.workout_bpm_summary")), (CONTINUOUS, ("silver.heart_rate",))],
)
def test_killed_and_restarted_the_lake_equals_an_uninterrupted_one(spark, tmp_path, mode, points):
    report = chaos.play(chaos.ChaosPlan(tmp_path, mode=mode, kills=2, points=points, seed=7), spark)
    print(report.as_text())
    assert report.point_kills + len(report.points_missed) == len(points)
    assert report.kills >= 2, report.as_text()  # the run really was interrupted, more than once
    assert [table.table for table in report.tables] == sorted(f"{spec.schema}.{spec.name}" for spec in TABLES)
    assert report.rows_compared > 0 and report.differences == 0, report.as_text()
