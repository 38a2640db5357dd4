"""Silver flows: bronze -> entities (MERGE on the natural key), tables derived from them in the same batch
(completed workouts, age bins), then the readings of completed workouts over change feeds.

Correctness never depends on a watermark: every flow MERGEs on the natural key (idempotent, so a replayed
batch changes nothing) and joins each micro-batch against the current Delta table of the other side, so a
late reading, a stop before its start or a registration after its workouts still meets its partner.
Each table is maintained by exactly one query, which serialises the two sides of every join.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fitlake import crash_points
from fitlake.config import PipelineConfig
from fitlake.contract import BPM, GYM_LOGINS, KAFKA_MULTIPLEX, REGISTERED_USERS, USER_INFO, WORKOUT
from fitlake.pipeline import checkpoints
from fitlake.pipeline.flow import Flow, Handler, Source, batch_app_id, flow_checkpoint, table_flow
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
# The crash points between a parent's write and the table derived from it, as (flow, write).
EVENTS_WRITTEN = (f"{SILVER}.workouts", "events")
PROFILES_WRITTEN = (f"{SILVER}.user_profile", "profiles")
WRITE_POINTS = tuple(crash_points.write_point(*point) for point in (EVENTS_WRITTEN, PROFILES_WRITTEN))
HandlerFactory = Callable[[PipelineConfig, str], Handler]


def _bronze(table: str, topic: str | None = None) -> Source:
    def open_stream(spark: SparkSession, name: str) -> DataFrame:
        stream = stream_table(spark, name)
        return stream if topic is None else stream.where(F.col("topic") == topic)

    return Source(((BRONZE, table),), open_stream)


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
            users = events.select("user_id").distinct()
            batch_tombstones = tombstones.join(users, "user_id", "left_semi")
            merge_with_tombstones(spark, live, batch_tombstones, profile, MergeSpec(("user_id",), "updated"), "deleted")
            crash_points.after_write(*PROFILES_WRITTEN, batch_id)
            _bin_users(spark, config, users)

    return handle


def _bin_users(spark: SparkSession, config: PipelineConfig, users: DataFrame) -> None:
    """Recompute silver.user_bins for ``users`` (their ids) from silver.user_profile: a user with no profile (a
    delete) loses their row. Derived in the profile flow's batch, as completions are in the workouts flow's."""
    profiles = read_table(spark, config.table(SILVER, "user_profile")).join(users, "user_id", "left_semi")
    changes = silver.keyed_changes(users, silver.user_bins(profiles, config.age_as_of), ("user_id",))
    apply_changes(spark, changes, config.table(SILVER, "user_bins"), ["user_id"])


def _heart_rate(config: PipelineConfig, checkpoint: str) -> Handler:
    spec = MergeSpec(("device_id", "time"), prune_by="time")

    def handle(batch: DataFrame, batch_id: int) -> None:
        with persisted(silver.parse_bpm(batch)) as parsed:
            _quarantine(config, checkpoint, parsed, "heart_rate", batch_id)
            merge_into(batch.sparkSession, silver.heart_rate(parsed), config.table(SILVER, "heart_rate"), spec)

    return handle


def _workouts(config: PipelineConfig, checkpoint: str) -> Handler:
    """Workout events into silver.workouts, then the completions of the workouts they belong to into
    silver.completed_workouts, in the same micro-batch: one query and one hop fewer before workout_bpm than a
    flow of its own over the events' change feed. A replay MERGEs no event twice and recomputes the same
    completions (``apply_changes`` writes only what differs), so a crash between the two writes loses nothing."""
    spec = MergeSpec(("user_id", "time"), prune_by="time")

    def handle(batch: DataFrame, batch_id: int) -> None:
        spark = batch.sparkSession
        with persisted(silver.parse_workout(batch)) as parsed:
            _quarantine(config, checkpoint, parsed, "workouts", batch_id)
            events = silver.workouts(parsed)
            merge_into(spark, events, config.table(SILVER, "workouts"), spec)
            crash_points.after_write(*EVENTS_WRITTEN, batch_id)
            _complete_workouts(spark, config, events)

    return handle


def _complete_workouts(spark: SparkSession, config: PipelineConfig, events: DataFrame) -> None:
    """Recompute silver.completed_workouts for the workouts of ``events`` (already in silver.workouts), from every
    event of those workouts.

    Every event, not only those near the batch's: a stop past the bound ends a workout however far it lies from
    the events that come after it (a start sent again, a new stop inside the bound), and only a look at all of a
    workout's events keeps it ended. So the events table is read by key, not pruned by time: a workout has a few
    events, and the table two or so per workout (docs/pipeline.md lists it among the reads by key)."""
    if events.isEmpty():
        return
    keys = events.select(*silver.WORKOUT_KEY).distinct()
    known = read_table(spark, config.table(SILVER, "workouts")).join(keys, list(silver.WORKOUT_KEY), "left_semi")
    # Recomputed: a later stop moves the end; a stop past the bound means it is no workout at all.
    completed = silver.completed_workouts(known, config.max_workout_hours)
    changes = silver.keyed_changes(keys, completed, silver.WORKOUT_KEY)
    apply_changes(spark, changes, config.table(SILVER, "completed_workouts"), silver.WORKOUT_KEY)


def _complete_every_workout(spark: SparkSession, config: PipelineConfig) -> None:
    _complete_workouts(spark, config, read_table(spark, config.table(SILVER, "workouts")))


def _bin_every_user(spark: SparkSession, config: PipelineConfig) -> None:
    """Every user with a profile or a bins row (whose profile may be gone since)."""
    users = [read_table(spark, config.table(SILVER, name)).select("user_id") for name in ("user_profile", "user_bins")]
    _bin_users(spark, config, users[0].union(users[1]).distinct())


RETIRED_FLOWS: dict[str, Callable[[SparkSession, PipelineConfig], None]] = {
    "completed_workouts": _complete_every_workout,
    "user_bins": _bin_every_user,
}
"""Silver tables that had a flow of their own, over their parent's change feed, before the parent's flow took
them over; each with what derives it whole."""


def retire_derived_flows(spark: SparkSession, config: PipelineConfig) -> tuple[str, ...]:
    """Catch a lake up from the days the ``RETIRED_FLOWS`` tables had flows of their own.

    A run of that design stopped between a parent's flow and its derived table's left parent rows the derived
    flow had not read yet; the parent's flow, which derives only from the rows of its own batches, would never
    derive them. So, once, where the old flow's checkpoint is still there: derive the whole table again, then move
    the checkpoint aside. Only what differs is written: the rows the old flow had not derived yet, and rows the
    old design left stale (bins whose age moved since the user's last profile change; a workout that a stop past
    the bound had ended and a later event brought back). A crash in between repeats it at the next run, to the
    same result. Returns the tables written (``layer.name``).

    A session without a JVM gateway (Spark Connect) cannot look for the old checkpoints: there it does nothing.
    """
    written = []
    for name, derive_whole in RETIRED_FLOWS.items():
        checkpoint = flow_checkpoint(config, SILVER, name).rstrip("/")
        if checkpoints.exists(spark, checkpoint):
            derive_whole(spark, config)
            checkpoints.move_aside(spark, checkpoint, checkpoints.RETIRED_SUFFIX)
            written.append(f"{SILVER}.{name}")
    return tuple(written)


def _workout_probes(spark: SparkSession, heart_rate: str, completed_workouts: str, users: str) -> DataFrame:
    """New readings, completed workouts that appeared, changed or ended, and new or changed registrations,
    as one stream of probes. (completed_workouts is written by the workouts flow: ``waits_for`` knows.)"""
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


def _flow(name: str, source: Source, handler: HandlerFactory, derived: tuple[str, ...] = ()) -> Flow:
    return table_flow(SILVER, name, source, handler, derived)


FLOWS = (
    _flow("users", _bronze(REGISTERED_USERS.bronze_table), _users),
    _flow("gym_logs", _bronze(GYM_LOGINS.bronze_table), _gym_logs),
    _flow("user_profile", _bronze(KAFKA_MULTIPLEX.bronze_table, USER_INFO), _user_profile, derived=("user_bins",)),
    _flow("heart_rate", _bronze(KAFKA_MULTIPLEX.bronze_table, BPM), _heart_rate),
    _flow("workouts", _bronze(KAFKA_MULTIPLEX.bronze_table, WORKOUT), _workouts, derived=("completed_workouts",)),
    _flow("workout_bpm", WORKOUT_PROBES, _workout_bpm),
)
