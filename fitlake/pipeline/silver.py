"""Silver flows: bronze -> entities (MERGE on the natural key), then the workout logic over change feeds.

Correctness never depends on a watermark: every flow MERGEs on the natural key (idempotent, so a replayed
batch changes nothing) and joins each micro-batch against the current Delta table of the other side, so a
late reading, a stop before its start or a registration after its workouts still meets its partner.
Each target is maintained by exactly one query, which serialises the two sides of every join.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fitlake.config import PipelineConfig
from fitlake.contract import BPM, GYM_LOGINS, KAFKA_MULTIPLEX, REGISTERED_USERS, USER_INFO, WORKOUT
from fitlake.pipeline.flow import Flow, Handler, Source, batch_app_id, table_flow
from fitlake.streaming import (
    MergeSpec,
    append_once,
    apply_changes,
    bounds,
    bounds_where,
    delete_matching,
    merge_into,
    merge_with_tombstones,
    overlapping,
    persisted,
    read_table,
    stream_changes,
    stream_table,
    target_between,
    within,
)
from fitlake.tables import BRONZE, SILVER
from fitlake.transforms import silver

WORKOUT_READING_KEY = ("user_id", "workout_id", "session_id", "time")
HandlerFactory = Callable[[PipelineConfig, str], Handler]


def _bronze(table: str, topic: str | None = None) -> Source:
    def open_stream(spark: SparkSession, name: str) -> DataFrame:
        stream = stream_table(spark, name)
        return stream if topic is None else stream.where(F.col("topic") == topic)

    return Source(((BRONZE, table),), open_stream)


def _changes(table: str, change_types: tuple[str, ...]) -> Source:
    """The change data feed of silver ``table``, limited to ``change_types``."""

    def open_stream(spark: SparkSession, name: str) -> DataFrame:
        return stream_changes(spark, name, change_types)

    return Source(((SILVER, table),), open_stream)


def _quarantine(config: PipelineConfig, checkpoint: str, parsed: DataFrame, source: str, batch_id: int) -> None:
    app_id = f"{batch_app_id(parsed.sparkSession, checkpoint)}:quarantine"
    bad = silver.quarantined(parsed, source)
    append_once(bad, config.table(SILVER, "quarantine"), app_id, batch_id, skip_empty=True)


def _users(config: PipelineConfig, _checkpoint: str) -> Handler:
    spec = MergeSpec(keys=("user_id",), order_by="registration_timestamp", keep="earliest")

    def handle(batch: DataFrame, _batch_id: int) -> None:
        merge_into(batch.sparkSession, silver.users(batch), config.table(SILVER, "users"), spec)

    return handle


def _gym_logs(config: PipelineConfig, _checkpoint: str) -> Handler:
    spec = MergeSpec(keys=("mac_address", "gym", "login"), order_by="logout", prune_by="login")

    def handle(batch: DataFrame, _batch_id: int) -> None:
        merge_into(batch.sparkSession, silver.gym_logs(batch), config.table(SILVER, "gym_logs"), spec)

    return handle


def _user_profile(config: PipelineConfig, checkpoint: str) -> Handler:
    profile, deletes = config.table(SILVER, "user_profile"), config.table(SILVER, "user_deletes")

    def handle(batch: DataFrame, batch_id: int) -> None:
        spark = batch.sparkSession
        with persisted(silver.parse_user_info(batch)) as parsed:
            _quarantine(config, checkpoint, parsed, "user_profile", batch_id)
            events = silver.profile_events(parsed)
            merge_into(spark, silver.profile_deletes(events), deletes, MergeSpec(("user_id",), "deleted"))
            tombstones = read_table(spark, deletes)
            live = silver.newer_than_tombstone(silver.profile_upserts(events), tombstones)
            batch_tombstones = tombstones.join(events.select("user_id").distinct(), "user_id", "left_semi")
            merge_with_tombstones(spark, live, batch_tombstones, profile, MergeSpec(("user_id",), "updated"), "deleted")

    return handle


def _events(name: str, parse: Callable, shape: Callable, spec: MergeSpec) -> HandlerFactory:
    def factory(config: PipelineConfig, checkpoint: str) -> Handler:
        def handle(batch: DataFrame, batch_id: int) -> None:
            with persisted(parse(batch)) as parsed:
                _quarantine(config, checkpoint, parsed, name, batch_id)
                merge_into(batch.sparkSession, shape(parsed), config.table(SILVER, name), spec)

        return handle

    return factory


def _completed_workouts(config: PipelineConfig, _checkpoint: str) -> Handler:
    def handle(batch: DataFrame, _batch_id: int) -> None:
        spark = batch.sparkSession
        span = bounds(batch, "time")
        if span is None:
            return
        # A workout's events all lie within its maximum length of each other: look no further than that.
        nearby = read_table(spark, config.table(SILVER, "workouts")).where(
            within("time", span, margin_hours=config.max_workout_hours)
        )
        keys = batch.select(*silver.WORKOUT_KEY).distinct()
        touched = nearby.join(keys, list(silver.WORKOUT_KEY), "left_semi")
        # The stored completion stands for the events seen before (its start is their earliest start, its
        # end their latest stop), however far from this batch they lie. Matching by key alone scans this
        # one-row-per-workout table; the events table is only read inside the window above.
        table = config.table(SILVER, "completed_workouts")
        stored = read_table(spark, table).join(keys, list(silver.WORKOUT_KEY), "left_semi")
        events = touched.unionByName(silver.completion_as_events(stored))
        # Recomputed: a later stop moves the end; a stop past the bound means it is no workout at all.
        changes = silver.completion_changes(keys, silver.completed_workouts(events, config.max_workout_hours))
        apply_changes(spark, changes, table, silver.WORKOUT_KEY)

    return handle


def _workout_probes(spark: SparkSession, heart_rate: str, completed_workouts: str, users: str) -> DataFrame:
    """New readings, completed workouts that appeared, changed or ended, and new or changed registrations,
    as one stream of probes."""
    readings = stream_changes(spark, heart_rate, ("insert",))
    completed = stream_changes(spark, completed_workouts, ("insert", "update_postimage", "delete"))
    return silver.workout_probes(readings, completed, stream_changes(spark, users))


WORKOUT_PROBES = Source(((SILVER, "heart_rate"), (SILVER, "completed_workouts"), (SILVER, "users")), _workout_probes)


def _workout_bpm(config: PipelineConfig, _checkpoint: str) -> Handler:
    def handle(batch: DataFrame, _batch_id: int) -> None:
        spark = batch.sparkSession
        users = read_table(spark, config.table(SILVER, "users"))
        completed = read_table(spark, config.table(SILVER, "completed_workouts"))
        with persisted(batch) as probes:
            kind = F.col("kind")
            spans = bounds_where(
                probes,
                {
                    "reading": (kind == "reading", "time", "time"),
                    "ended": (kind == "ended", "start_time", "end_time"),
                    "user_changed": (kind == "user_changed", "user_id", "user_id"),
                },
            )
            _forget_stale_readings(spark, config, probes, spans["ended"], spans["user_changed"] is not None)
            reading = spans["reading"]
            candidates = completed.where(overlapping("start_time", "end_time", reading) if reading else F.lit(False))
            with persisted(silver.affected_workouts(probes, candidates, completed, users)) as affected:
                span = bounds(affected, "start_time", "end_time")
                if span is not None:
                    readings = read_table(spark, config.table(SILVER, "heart_rate")).where(within("time", span))
                    # Insert, or update a row whose workout's start or end moved (a later stop arrived).
                    rows = silver.workout_bpm(affected, readings, users).withColumn("_deleted", F.lit(False))
                    target_window = target_between("time", span)
                    bpm = config.table(SILVER, "workout_bpm")
                    apply_changes(spark, rows, bpm, WORKOUT_READING_KEY, target_window)

    return handle


def _forget_stale_readings(
    spark: SparkSession, config: PipelineConfig, probes: DataFrame, ended: tuple[str, str] | None, users_changed: bool
) -> None:
    """Delete workout_bpm rows that no longer hold: those of workouts no longer complete (``ended`` spans their
    starts and ends), and all rows of users whose registered device changed (they are recomputed from the new
    device right after)."""
    table = config.table(SILVER, "workout_bpm")
    if ended is not None:
        window = target_between("start_time", ended)
        delete_matching(spark, probes.where(F.col("kind") == "ended"), table, silver.WORKOUT_KEY, window)
    if users_changed:
        delete_matching(spark, probes.where(F.col("kind") == "user_changed"), table, ["user_id"])


def _user_bins(config: PipelineConfig, _checkpoint: str) -> Handler:
    def handle(batch: DataFrame, _batch_id: int) -> None:
        changes = silver.bins_changes(batch, config.age_as_of)
        apply_changes(batch.sparkSession, changes, config.table(SILVER, "user_bins"), ["user_id"])

    return handle


def _flow(name: str, source: Source, handler: HandlerFactory) -> Flow:
    return table_flow(SILVER, name, source, handler)


FLOWS = (
    _flow("users", _bronze(REGISTERED_USERS.bronze_table), _users),
    _flow("gym_logs", _bronze(GYM_LOGINS.bronze_table), _gym_logs),
    _flow("user_profile", _bronze(KAFKA_MULTIPLEX.bronze_table, USER_INFO), _user_profile),
    _flow(
        "heart_rate",
        _bronze(KAFKA_MULTIPLEX.bronze_table, BPM),
        _events("heart_rate", silver.parse_bpm, silver.heart_rate, MergeSpec(("device_id", "time"), prune_by="time")),
    ),
    _flow(
        "workouts",
        _bronze(KAFKA_MULTIPLEX.bronze_table, WORKOUT),
        _events("workouts", silver.parse_workout, silver.workouts, MergeSpec(("user_id", "time"), prune_by="time")),
    ),
    _flow("completed_workouts", _changes("workouts", ("insert",)), _completed_workouts),
    _flow("user_bins", _changes("user_profile", ("insert", "update_postimage", "delete")), _user_bins),
    _flow("workout_bpm", WORKOUT_PROBES, _workout_bpm),
)
