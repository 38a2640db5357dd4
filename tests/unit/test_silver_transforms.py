"""Silver rules on small DataFrames: payload quarantine, full-precision times, workouts, readings, bins."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from fitlake.transforms import silver
from fitlake.transforms.checks import REASON

RECORD = "value STRING, topic STRING, partition INT, offset BIGINT"
T0 = 1678451168  # 2023-03-10 12:26:08 UTC


def ts(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)


def records(spark, topic, *values):
    return spark.createDataFrame(
        [(v if isinstance(v, str) else json.dumps(v), topic, 0, i) for i, v in enumerate(values)], RECORD
    )


def test_payloads_that_do_not_parse_or_lack_key_fields_are_quarantined_with_a_reason(spark):
    parsed = silver.parse_bpm(
        records(spark, "bpm", {"device_id": 1, "time": T0, "heartrate": 60}, "not json", {"time": T0, "heartrate": 1})
    )
    assert [r[REASON] for r in parsed.orderBy("offset").collect()] == [
        None,
        "value is not a JSON document",
        "missing device_id",
    ]
    bad = silver.quarantined(parsed, "heart_rate").orderBy("offset").collect()
    assert [(b.source, b.raw) for b in bad] == [
        ("heart_rate", "not json"),
        ("heart_rate", '{"time": 1678451168, "heartrate": 1}'),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        "{'device_id': 1, 'time': 1678451168, 'heartrate': 60}",  # every field present, but single-quoted
        '{"device_id": 1, "time": NaN, "heartrate": 60}',
        '{"device_id": 1, "time": 1678451168, "heartrate": Infinity}',
        '{"device_id": 1, "time": 1678451168, "heartrate": -INF}',
    ],
)
def test_what_is_not_json_is_quarantined_even_when_spark_could_read_it(spark, payload):
    # Spark's JSON parser takes single quotes and NaN/Infinity tokens by default; the landing contract is JSON.
    parsed = silver.parse_bpm(records(spark, "bpm", payload))
    assert parsed.first()[REASON] == "value is not a JSON document"
    assert silver.heart_rate(parsed).count() == 0


def test_invalid_enumerations_are_quarantined(spark):
    parsed = silver.parse_workout(
        records(spark, "workout", {"user_id": 1, "workout_id": 2, "timestamp": T0, "action": "pause", "session_id": 3})
    )
    assert parsed.first()[REASON] == "action must be one of start, stop, got pause"


def test_integer_and_decimal_epochs_are_the_same_instant_at_full_precision(spark):
    parsed = silver.parse_bpm(
        records(
            spark,
            "bpm",
            '{"device_id": 1, "time": 1678451168, "heartrate": 60}',
            '{"device_id": 2, "time": 1678451168.0, "heartrate": 60}',
        )
    )
    times = {r.device_id: r.time for r in silver.heart_rate(parsed).collect()}
    assert times[1] == times[2] == ts(T0)


def test_a_65_minute_workout_lasts_exactly_65_minutes(spark):
    parsed = silver.parse_workout(
        records(
            spark,
            "workout",
            {"user_id": 1, "workout_id": 1, "timestamp": T0, "action": "start", "session_id": 1},
            {"user_id": 1, "workout_id": 1, "timestamp": T0 + 3900.0, "action": "stop", "session_id": 1},
        )
    )
    completed = silver.completed_workouts(silver.workouts(parsed), 3)
    minutes = completed.select(((F.unix_micros("end_time") - F.unix_micros("start_time")) / 60e6).alias("m")).first().m
    assert minutes == 65.0


def test_heart_rate_validity(spark):
    parsed = silver.parse_bpm(
        records(
            spark,
            "bpm",
            {"device_id": 1, "time": T0, "heartrate": 0},
            {"device_id": 1, "time": T0 + 1, "heartrate": 61},
        )
    )
    assert [r.valid for r in silver.heart_rate(parsed).orderBy("time").collect()] == [False, True]


EVENTS = "user_id BIGINT, workout_id BIGINT, time TIMESTAMP, action STRING, session_id BIGINT"


def test_completed_workouts_pair_start_and_stop_whatever_the_order_within_the_bound(spark):
    events = spark.createDataFrame(
        [
            (1, 1, ts(T0 + 600), "stop", 10),  # stop listed before its start
            (1, 1, ts(T0), "start", 10),
            (1, 2, ts(T0), "start", 20),  # no stop
            (1, 3, ts(T0), "start", 30),
            (1, 3, ts(T0 + 3 * 3600), "stop", 30),  # exactly 3 h: not below the bound
            (1, 4, ts(T0), "start", 40),
            (1, 4, ts(T0 + 3 * 3600 - 1), "stop", 40),
            (1, 5, ts(T0 + 60), "start", 50),
            (1, 5, ts(T0), "stop", 50),  # stop before start in time
        ],
        EVENTS,
    )
    completed = silver.completed_workouts(events, 3)
    assert sorted(r.workout_id for r in completed.collect()) == [1, 4]


def test_workout_bpm_takes_valid_readings_of_the_registered_device_inside_the_window(spark):
    completed = spark.createDataFrame(
        [(1, 7, 70, ts(T0), ts(T0 + 600))],
        "user_id BIGINT, workout_id BIGINT, session_id BIGINT, start_time TIMESTAMP, end_time TIMESTAMP",
    )
    users = spark.createDataFrame(
        [(1, 100, "aa", ts(T0 - 9999))],
        "user_id BIGINT, device_id BIGINT, mac_address STRING, registration_timestamp TIMESTAMP",
    )
    readings = spark.createDataFrame(
        [
            (100, ts(T0), 90.0, True),  # at start: excluded
            (100, ts(T0 + 1), 91.0, True),
            (100, ts(T0 + 600), 92.0, True),  # at end: included
            (100, ts(T0 + 601), 93.0, True),
            (100, ts(T0 + 300), -1.0, False),
            (200, ts(T0 + 300), 94.0, True),  # another device
        ],
        "device_id BIGINT, time TIMESTAMP, heartrate DOUBLE, valid BOOLEAN",
    )
    rows = silver.workout_bpm(completed, readings, users)
    assert sorted(r.heartrate for r in rows.collect()) == [91.0, 92.0]


@pytest.mark.parametrize(
    ("dob", "label"),
    [
        ("2008-01-02", "under 18"),
        ("2008-01-01", "18-25"),
        ("2001-01-02", "18-25"),
        ("2001-01-01", "25-35"),
        ("1981-06-30", "35-45"),
        ("1931-01-01", "95+"),
    ],
)
def test_age_bins_on_a_fixed_as_of_date(spark, dob, label):
    profiles = spark.createDataFrame(
        [(1, dt.date.fromisoformat(dob), "F", "Oslo", "NO")],
        "user_id BIGINT, dob DATE, gender STRING, city STRING, state STRING",
    )
    assert silver.user_bins(profiles, dt.date(2026, 1, 1)).first().age == label


def test_profile_updates_older_than_a_delete_do_not_survive(spark):
    upserts = spark.createDataFrame([(1, ts(T0)), (2, ts(T0)), (3, ts(T0 + 10))], "user_id BIGINT, updated TIMESTAMP")
    tombstones = spark.createDataFrame([(1, ts(T0 + 5)), (3, ts(T0 + 5))], "user_id BIGINT, deleted TIMESTAMP")
    assert sorted(r.user_id for r in silver.newer_than_tombstone(upserts, tombstones).collect()) == [2, 3]


def test_keyed_changes_give_each_keys_current_row_or_mark_it_deleted(spark):
    """user_bins for the users of a profile batch: a changed profile's new bins, a deleted user's row marked
    deleted; a user outside the keys is left alone."""
    profiles = spark.createDataFrame(
        [(1, dt.date(1990, 1, 1), "F", "Bergen", "NO"), (3, dt.date(2000, 1, 1), "M", "Oslo", "NO")],
        "user_id BIGINT, dob DATE, gender STRING, city STRING, state STRING",
    )
    keys = spark.createDataFrame([(1,), (2,)], "user_id BIGINT")
    result = silver.keyed_changes(keys, silver.user_bins(profiles, dt.date(2026, 1, 1)), ("user_id",))
    assertDataFrameEqual(
        result,
        spark.createDataFrame(
            [(1, "35-45", "F", "Bergen", "NO", False), (2, None, None, None, None, True)],
            "user_id BIGINT, age STRING, gender STRING, city STRING, state STRING, _deleted BOOLEAN",
        ),
    )


def test_keyed_changes_match_on_every_key_column(spark):
    """completed_workouts' key has three columns: a row matching two of them is not the key's row."""
    completed = spark.createDataFrame(
        [(1, 7, 100, 5.0, 9.0)], "user_id INT, workout_id INT, session_id INT, s DOUBLE, e DOUBLE"
    )
    keys = spark.createDataFrame([(1, 7, 100), (1, 7, 101)], "user_id INT, workout_id INT, session_id INT")
    result = silver.keyed_changes(keys, completed, ("user_id", "workout_id", "session_id"))
    assert sorted(tuple(row) for row in result.collect()) == [
        (1, 7, 100, 5.0, 9.0, False),
        (1, 7, 101, None, None, True),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"device_id": 1, "time": 1e17, "heartrate": 60}, "time is not an epoch time"),
        ({"device_id": 1, "time": -5, "heartrate": 60}, "time is not an epoch time"),
    ],
)
def test_absurd_event_times_are_quarantined_not_fatal(spark, payload, reason):
    parsed = silver.parse_bpm(records(spark, "bpm", payload))
    assert parsed.first()[REASON] == reason
    assert silver.heart_rate(parsed).count() == 0  # and the good-row path does not fail on it


@pytest.mark.parametrize("dob", ["1990-06-15", "13/45/1990"])
def test_an_unparseable_date_of_birth_is_quarantined_not_fatal(spark, dob):
    event = {"user_id": 1, "update_type": "new", "timestamp": T0, "dob": dob}
    parsed = silver.parse_user_info(records(spark, "user_info", event))
    assert parsed.first()[REASON] == "dob is not a MM/dd/yyyy date"
    assert silver.profile_events(parsed).count() == 0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"device_id": 1, "time": T0, "heartrate": "60"}, "heartrate is not a DOUBLE"),
        ({"device_id": 1.5, "time": T0, "heartrate": 60}, "device_id is not a BIGINT"),
        ({"device_id": 1, "time": {"s": T0}, "heartrate": 60}, "time is not a DOUBLE"),
        ({"device_id": 1, "time": T0, "heartrate": None}, "missing heartrate"),  # null: absent, not mistyped
    ],
)
def test_a_field_of_another_type_is_quarantined_naming_the_field(spark, payload, reason):
    parsed = silver.parse_bpm(records(spark, "bpm", payload))
    assert parsed.first()[REASON] == reason
    assert silver.heart_rate(parsed).count() == 0


def test_a_payload_field_that_should_be_an_object_is_named_so(spark):
    event = {"user_id": 1, "update_type": "new", "timestamp": T0, "address": "1 Main St, Oslo"}
    assert silver.parse_user_info(records(spark, "user_info", event)).first()[REASON] == "address is not a JSON object"


def test_new_fields_are_ignored_and_removed_optional_ones_are_null(spark):
    event = {"user_id": 1, "update_type": "new", "timestamp": T0, "loyalty_tier": "gold"}  # no dob, no address
    profile = silver.profile_events(silver.parse_user_info(records(spark, "user_info", event))).first()
    assert (profile.user_id, profile.dob, profile.city) == (1, None, None)


def test_a_number_where_text_is_expected_is_taken_as_its_text(spark):
    event = {"user_id": 1, "update_type": "new", "timestamp": T0, "address": {"zip": 150, "city": "Oslo"}}
    profile = silver.profile_events(silver.parse_user_info(records(spark, "user_info", event))).first()
    assert (profile.zip, profile.city) == ("150", "Oslo")
