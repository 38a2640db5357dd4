"""The crash harness at a small size: the driver SIGKILLed (its whole process group) at a crash point and at
random moments, in batch and in continuous mode, restarted, and its lake compared with an uninterrupted one.

Proves "Exactly once" of docs/pipeline.md under real kills of the process, in both modes: every table of the
killed lake equals the clean lake's, row for row (no duplicates, the same quarantine rows). The figures of
a large run are in docs/pipeline.md; ``fitlake chaos`` plays any size.
"""

from __future__ import annotations

import pytest

from fitlake import chaos
from fitlake.sample.generator import shipped_sets_dir
from fitlake.streaming import BATCH, CONTINUOUS
from fitlake.tables import TABLES

pytestmark = pytest.mark.integration


SETS = (shipped_sets_dir() / "set1", shipped_sets_dir() / "set2")


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
