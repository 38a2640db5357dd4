"""Gold flows: the per-workout heart-rate summary, kept complete and corrected after every batch.

No row waits for a watermark: each micro-batch of new workout readings or profile-bin changes names the
workouts it affects, and those workouts' summary rows are recomputed from silver and MERGEd (a workout
whose user lost their profile is removed).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from fitlake.config import PipelineConfig
from fitlake.pipeline.flow import Handler, Source, table_flow
from fitlake.streaming import apply_changes, bounds, persisted, read_table, stream_changes, within
from fitlake.tables import GOLD, SILVER
from fitlake.transforms import gold
from fitlake.transforms.silver import WORKOUT_KEY


def _summary_probes(spark: SparkSession, workout_bpm: str, user_bins: str) -> DataFrame:
    readings = stream_changes(spark, workout_bpm, ("insert", "delete"))
    bins = stream_changes(spark, user_bins, ("insert", "update_postimage", "delete"))
    return gold.summary_probes(readings, bins)


def _summary(config: PipelineConfig, _checkpoint: str) -> Handler:
    def handle(batch: DataFrame, _batch_id: int) -> None:
        spark = batch.sparkSession
        readings = read_table(spark, config.table(SILVER, "workout_bpm"))
        with persisted(gold.affected_workouts(batch, readings)) as affected:
            span = bounds(affected, "start_time")
            if span is None:
                return
            in_window = readings.where(within("start_time", span))
            in_window = in_window.join(affected.select(*WORKOUT_KEY), list(WORKOUT_KEY), "left_semi")
            summary = gold.workout_bpm_summary(in_window, read_table(spark, config.table(SILVER, "user_bins")))
            changes = gold.summary_changes(affected, summary)
            apply_changes(spark, changes, config.table(GOLD, "workout_bpm_summary"), list(WORKOUT_KEY))

    return handle


FLOWS = (
    table_flow(
        GOLD,
        "workout_bpm_summary",
        Source(((SILVER, "workout_bpm"), (SILVER, "user_bins")), _summary_probes),
        _summary,
    ),
)
