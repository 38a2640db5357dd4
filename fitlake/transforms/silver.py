"""Silver: typed, deduplicated entities from bronze, and the workout logic that joins them.

Event times arrive as epoch seconds (integer or decimal) and are parsed as DOUBLE, never FLOAT: a 32-bit
float rounds today's epochs to 128-second steps and would corrupt every duration downstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fitlake.transforms.checks import CORRUPT, REASON, STRICT_JSON, Check, first_reason, not_an_epoch

USER_INFO_PAYLOAD = (
    "user_id BIGINT, update_type STRING, timestamp DOUBLE, dob STRING, sex STRING, gender STRING, "
    "first_name STRING, last_name STRING, "
    "address STRUCT<street_address: STRING, city: STRING, state: STRING, zip: STRING>, "
    f"{CORRUPT} STRING"
)
BPM_PAYLOAD = f"device_id BIGINT, time DOUBLE, heartrate DOUBLE, {CORRUPT} STRING"
WORKOUT_PAYLOAD = (
    f"user_id BIGINT, workout_id BIGINT, timestamp DOUBLE, action STRING, session_id BIGINT, {CORRUPT} STRING"
)

UPDATE_TYPES = ("new", "update", "delete")
WORKOUT_ACTIONS = ("start", "stop")
WORKOUT_KEY = ("user_id", "workout_id", "session_id")

# (label, lowest age in the bin); the last bin is open-ended.
AGE_BINS = (
    ("under 18", 0),
    ("18-25", 18),
    ("25-35", 25),
    ("35-45", 35),
    ("45-55", 45),
    ("55-65", 55),
    ("65-75", 65),
    ("75-85", 75),
    ("85-95", 85),
    ("95+", 95),
)


def parse_payload(records: DataFrame, schema: str, required: tuple[str, ...], extra: Sequence[Check] = ()) -> DataFrame:
    """Bronze Kafka records with their JSON ``value`` parsed into ``p``, and ``_reason`` for the bad ones.

    A field of another type than the payload's (a number sent as a string, an object for a number) makes the
    parser give up on the document; it is quarantined naming the field and the type expected. A field the
    payload does not know is ignored (bronze keeps the whole value).
    """
    parsed = records.withColumn(
        "p", F.from_json("value", schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT, **STRICT_JSON})
    )
    # The document's top-level fields as text, to tell a field of another type (present here, null in ``p``)
    # from a value that is no JSON object at all. Parsed only for the records the typed parse refused.
    refused = F.col(f"p.{CORRUPT}").isNotNull()
    as_text = F.when(refused, F.from_json("value", "MAP<STRING, STRING>", STRICT_JSON))
    fields = [field for field in parsed.schema["p"].dataType.fields if field.name != CORRUPT]
    wrong_types = [
        (as_text[f.name].isNotNull() & F.col(f"p.{f.name}").isNull(), F.lit(f"{f.name} is not {_type_name(f)}"))
        for f in fields
    ]
    checks = [*wrong_types, (refused | F.col("p").isNull(), F.lit("value is not a JSON document"))]
    checks += [(F.col(f"p.{name}").isNull(), F.lit(f"missing {name}")) for name in required]
    return parsed.withColumn(REASON, first_reason([*checks, *extra]))


def _type_name(field: T.StructField) -> str:
    if isinstance(field.dataType, T.StructType):
        return "a JSON object"
    return f"a {field.dataType.simpleString().upper()}"


def quarantined(parsed: DataFrame, source: str) -> DataFrame:
    """Records with a reason, as silver quarantine rows (the raw value kept)."""
    return parsed.where(F.col(REASON).isNotNull()).select(
        F.lit(source).alias("source"),
        F.col("value").alias("raw"),
        F.col(REASON).alias("reason"),
        "topic",
        "partition",
        "offset",
        F.current_timestamp().alias("load_time"),
    )


def not_one_of(column: str, allowed: tuple[str, ...]) -> Check:
    message = F.concat(F.lit(f"{column.split('.')[-1]} must be one of {', '.join(allowed)}, got "), F.col(column))
    return (~F.col(column).isin(*allowed), message)


def _dob(column: str) -> Column:
    # try_ variant: an unparseable date is a quarantine reason, not an error that fails the batch (ANSI mode).
    return F.to_date(F.try_to_timestamp(F.col(column), F.lit("MM/dd/yyyy")))


def parse_user_info(records: DataFrame) -> DataFrame:
    bad_dob = (F.col("p.dob").isNotNull() & _dob("p.dob").isNull(), F.lit("dob is not a MM/dd/yyyy date"))
    checks = (not_one_of("p.update_type", UPDATE_TYPES), not_an_epoch("p.timestamp"), bad_dob)
    return parse_payload(records, USER_INFO_PAYLOAD, ("user_id", "update_type", "timestamp"), checks)


def parse_bpm(records: DataFrame) -> DataFrame:
    return parse_payload(records, BPM_PAYLOAD, ("device_id", "time", "heartrate"), (not_an_epoch("p.time"),))


def parse_workout(records: DataFrame) -> DataFrame:
    checks = (not_one_of("p.action", WORKOUT_ACTIONS), not_an_epoch("p.timestamp"))
    return parse_payload(
        records, WORKOUT_PAYLOAD, ("user_id", "workout_id", "timestamp", "action", "session_id"), checks
    )


def _good(parsed: DataFrame) -> DataFrame:
    return parsed.where(F.col(REASON).isNull())


def users(registrations: DataFrame) -> DataFrame:
    return registrations.select(
        "user_id",
        "device_id",
        "mac_address",
        F.timestamp_seconds("registration_timestamp").alias("registration_timestamp"),
    )


def gym_logs(logins: DataFrame) -> DataFrame:
    return logins.select(
        "mac_address",
        "gym",
        F.timestamp_seconds("login").alias("login"),
        F.timestamp_seconds("logout").alias("logout"),
    )


def profile_events(parsed: DataFrame) -> DataFrame:
    """Good user_info payloads: profile columns, the event's ``update_type`` and time (``updated``)."""
    return _good(parsed).select(
        F.col("p.user_id").alias("user_id"),
        _dob("p.dob").alias("dob"),
        F.col("p.sex").alias("sex"),
        F.col("p.gender").alias("gender"),
        F.col("p.first_name").alias("first_name"),
        F.col("p.last_name").alias("last_name"),
        F.col("p.address.street_address").alias("street_address"),
        F.col("p.address.city").alias("city"),
        F.col("p.address.state").alias("state"),
        F.col("p.address.zip").alias("zip"),
        F.timestamp_seconds("p.timestamp").alias("updated"),
        F.col("p.update_type").alias("update_type"),
    )


def profile_upserts(events: DataFrame) -> DataFrame:
    """new/update events as user_profile rows."""
    return events.where(F.col("update_type") != "delete").drop("update_type")


def profile_deletes(events: DataFrame) -> DataFrame:
    """delete events as tombstones (user_id, deleted)."""
    return events.where(F.col("update_type") == "delete").select("user_id", F.col("updated").alias("deleted"))


def heart_rate(parsed: DataFrame) -> DataFrame:
    is_valid_reading = F.col("p.heartrate") > 0
    return _good(parsed).select(
        F.col("p.device_id").alias("device_id"),
        F.timestamp_seconds("p.time").alias("time"),
        F.col("p.heartrate").alias("heartrate"),
        is_valid_reading.alias("valid"),
    )


def workouts(parsed: DataFrame) -> DataFrame:
    return _good(parsed).select(
        F.col("p.user_id").alias("user_id"),
        F.col("p.workout_id").alias("workout_id"),
        F.timestamp_seconds("p.timestamp").alias("time"),
        F.col("p.action").alias("action"),
        F.col("p.session_id").alias("session_id"),
    )


def completed_workouts(events: DataFrame, max_workout_hours: int) -> DataFrame:
    """Workouts with both a start and a stop, start < end < start + max length, whatever the arrival order.

    The start is the earliest start event and the end the latest stop (a re-sent event changes nothing).
    """
    paired = events.groupBy(*WORKOUT_KEY).agg(
        F.min(F.when(F.col("action") == "start", F.col("time"))).alias("start_time"),
        F.max(F.when(F.col("action") == "stop", F.col("time"))).alias("end_time"),
    )
    ends_after_start = F.col("end_time") > F.col("start_time")
    within_max_length = F.col("end_time") < F.col("start_time") + F.expr(f"INTERVAL {int(max_workout_hours)} HOURS")
    return paired.where(ends_after_start & within_max_length).select(*WORKOUT_KEY, "start_time", "end_time")


def workout_bpm(completed: DataFrame, readings: DataFrame, registered: DataFrame) -> DataFrame:
    """Valid readings of the user's registered device with start_time < time <= end_time of a workout."""
    w, r, u = completed.alias("w"), readings.alias("r"), registered.alias("u")
    during_workout = (F.col("r.time") > F.col("w.start_time")) & (F.col("r.time") <= F.col("w.end_time"))
    return (
        w.join(u, on=F.col("w.user_id") == F.col("u.user_id"), how="inner")
        .join(r, on=(F.col("r.device_id") == F.col("u.device_id")) & during_workout, how="inner")
        .where(F.col("r.valid"))
        .select(
            F.col("w.user_id").alias("user_id"),
            F.col("w.workout_id").alias("workout_id"),
            F.col("w.session_id").alias("session_id"),
            F.col("w.start_time").alias("start_time"),
            F.col("w.end_time").alias("end_time"),
            F.col("r.time").alias("time"),
            F.col("r.heartrate").alias("heartrate"),
        )
    )


def age_in_years(dob: Column, as_of: date) -> Column:
    """Whole years from ``dob`` to ``as_of``: the year difference, less one before the birthday."""
    on = F.lit(as_of)
    before_birthday = (F.month(on) < F.month(dob)) | (
        (F.month(on) == F.month(dob)) & (F.dayofmonth(on) < F.dayofmonth(dob))
    )
    return F.year(on) - F.year(dob) - F.when(before_birthday, 1).otherwise(0)


def age_bin(age: Column) -> Column:
    label = F.lit(None).cast("string")
    for name, lowest in AGE_BINS:
        label = F.when(age >= lowest, F.lit(name)).otherwise(label)
    return label


def user_bins(profiles: DataFrame, as_of: date) -> DataFrame:
    return profiles.select(
        "user_id",
        age_bin(age_in_years(F.col("dob"), as_of)).alias("age"),
        "gender",
        "city",
        "state",
    )


def newer_than_tombstone(upserts: DataFrame, tombstones: DataFrame) -> DataFrame:
    """Profile rows that are newer than the user's latest delete (or whose user was never deleted)."""
    u, d = upserts.alias("u"), tombstones.alias("d")
    survives = F.col("d.deleted").isNull() | (F.col("u.updated") > F.col("d.deleted"))
    return (
        u.join(d, on="user_id", how="left")
        .where(survives)
        .select("user_id", *[f"u.{c}" for c in upserts.columns if c != "user_id"])
    )


def _probe(df: DataFrame, kind: str, **columns: Column) -> DataFrame:
    typed = {
        "user_id": "bigint",
        "device_id": "bigint",
        "time": "timestamp",
        "workout_id": "bigint",
        "session_id": "bigint",
        "start_time": "timestamp",
        "end_time": "timestamp",
    }
    return df.select(
        F.lit(kind).alias("kind"),
        *[columns.get(name, F.lit(None)).cast(kind_).alias(name) for name, kind_ in typed.items()],
    )


def workout_probes(readings: DataFrame, completed: DataFrame, registered: DataFrame) -> DataFrame:
    """What can change workout_bpm, in one shape, from the change feeds of heart_rate, completed_workouts and
    users: a valid reading; a workout that completed or changed (``workout``) or is no longer complete
    (``ended``); a new registration (``user``) or one whose device changed (``user_changed``)."""
    workout_columns = {c: F.col(c) for c in (*WORKOUT_KEY, "start_time", "end_time")}
    is_deleted = F.col("_change_type") == "delete"
    is_update = F.col("_change_type") == "update_postimage"
    return (
        _probe(readings.where(F.col("valid")), "reading", device_id=F.col("device_id"), time=F.col("time"))
        .unionByName(_probe(completed.where(~is_deleted), "workout", **workout_columns))
        .unionByName(_probe(completed.where(is_deleted), "ended", **workout_columns))
        .unionByName(_probe(registered.where(~is_update), "user", user_id=F.col("user_id")))
        .unionByName(_probe(registered.where(is_update), "user_changed", user_id=F.col("user_id")))
    )


def keyed_changes(keys: DataFrame, current: DataFrame, key: Sequence[str]) -> DataFrame:
    """``current``'s row for each of ``keys`` (distinct key values) with ``_deleted``: a key ``current`` has no
    row for is marked deleted, its other columns null. Applied (``apply_changes``), it makes a derived table
    hold exactly ``current``'s rows for those keys, whatever it held for them before."""
    k, c = keys.alias("k"), current.alias("c")
    same_key = [F.col(f"k.{name}") == F.col(f"c.{name}") for name in key]
    on = same_key[0]
    for condition in same_key[1:]:
        on = on & condition
    return k.join(c, on=on, how="left").select(
        *[F.col(f"k.{name}").alias(name) for name in key],
        *[F.col(f"c.{name}").alias(name) for name in current.columns if name not in key],
        F.col(f"c.{key[0]}").isNull().alias("_deleted"),
    )


def affected_workouts(
    probes: DataFrame, candidates: DataFrame, completed: DataFrame, registered: DataFrame
) -> DataFrame:
    """Completed workouts that the probes can add readings to.

    Args:
        probes: a micro-batch of ``workout_probes``.
        candidates: completed workouts that can contain the probes' readings (pruned by time by the caller).
        completed: all completed workouts (only joined with the probes' newly registered users).
        registered: silver users, for device -> user.
    """
    columns = (*WORKOUT_KEY, "start_time", "end_time")
    from_workouts = probes.where(F.col("kind") == "workout").select(*columns)
    readings = probes.where(F.col("kind") == "reading").alias("r")
    c, u = candidates.alias("c"), registered.alias("u")
    during_workout = (F.col("r.time") > F.col("c.start_time")) & (F.col("r.time") <= F.col("c.end_time"))
    from_readings = (
        c.join(u, on=F.col("c.user_id") == F.col("u.user_id"), how="inner")
        .join(readings, on=(F.col("r.device_id") == F.col("u.device_id")) & during_workout, how="left_semi")
        .select(*[F.col(f"c.{name}").alias(name) for name in columns])
    )
    new_users = probes.where(F.col("kind").isin("user", "user_changed")).select("user_id")
    from_users = completed.join(new_users, on="user_id", how="left_semi").select(*columns)
    return from_workouts.unionByName(from_readings).unionByName(from_users).distinct()
