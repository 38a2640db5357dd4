"""Gold: what analysts read."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fitlake.transforms.silver import WORKOUT_KEY

SUMMARY_COLUMNS = (
    "workout_id",
    "session_id",
    "user_id",
    "age",
    "gender",
    "city",
    "state",
    "min_bpm",
    "avg_bpm",
    "max_bpm",
    "num_recordings",
)


def workout_bpm_summary(readings: DataFrame, bins: DataFrame) -> DataFrame:
    """One row per completed workout with at least one reading, for users who still have a profile."""
    per_workout = readings.groupBy(*WORKOUT_KEY).agg(
        F.min("heartrate").alias("min_bpm"),
        F.avg("heartrate").alias("avg_bpm"),
        F.max("heartrate").alias("max_bpm"),
        F.count(F.lit(1)).alias("num_recordings"),
    )
    return per_workout.join(bins, on="user_id", how="inner").select(*SUMMARY_COLUMNS)


def summary_probes(readings: DataFrame, bins: DataFrame) -> DataFrame:
    """New workout readings (their workout) and changed profile bins (their user), in one shape."""
    workout = readings.select(
        F.lit("workout").alias("kind"), *WORKOUT_KEY, F.col("start_time").cast("timestamp").alias("start_time")
    )
    user = bins.select(
        F.lit("user").alias("kind"),
        F.col("user_id").cast("bigint").alias("user_id"),
        F.lit(None).cast("bigint").alias("workout_id"),
        F.lit(None).cast("bigint").alias("session_id"),
        F.lit(None).cast("timestamp").alias("start_time"),
    )
    return workout.unionByName(user)


def affected_workouts(probes: DataFrame, readings: DataFrame) -> DataFrame:
    """Workouts (key and start_time) whose summary row may have changed: those with new readings, and every
    workout of a user whose profile bins changed."""
    from_readings = probes.where(F.col("kind") == "workout").select(*WORKOUT_KEY, "start_time")
    users = probes.where(F.col("kind") == "user").select("user_id")
    from_users = readings.join(users, on="user_id", how="left_semi").select(*WORKOUT_KEY, "start_time")
    return from_readings.unionByName(from_users).distinct()


def summary_changes(affected: DataFrame, summary: DataFrame) -> DataFrame:
    """Summary rows for the affected workouts, with ``_deleted`` for those that no longer have one."""
    a, s = affected.select(*WORKOUT_KEY).distinct().alias("a"), summary.alias("s")
    key_matches = [F.col(f"a.{k}") == F.col(f"s.{k}") for k in WORKOUT_KEY]
    condition = key_matches[0] & key_matches[1] & key_matches[2]
    return a.join(s, on=condition, how="left").select(
        *[F.col(f"a.{k}").alias(k) if k in WORKOUT_KEY else F.col(f"s.{k}").alias(k) for k in SUMMARY_COLUMNS],
        F.col("s.user_id").isNull().alias("_deleted"),
    )
