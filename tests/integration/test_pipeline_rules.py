"""The pipeline's rules end to end, in-process: landing files -> batch runs -> tables.

Stories over several batch runs, so each rule is checked across runs (late, out-of-order, duplicate and
malformed data) without paying for a run per rule (a replayed micro-batch at every flow: test_replays.py). The story of
four users compares every table its rules pass through in full after each run (``lake.assert_tables``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from lake import assert_tables
from pyspark.sql import functions as F

from fitlake import pipeline
from fitlake.config import load_config
from fitlake.pipeline.history import load_date_lookup
from fitlake.sample.landing import CSV_HEADERS
from fitlake.sample.model import REGISTERED_USERS
from fitlake.sample.rows import utc_text
from fitlake.tables import SCHEMAS, create_all

pytestmark = pytest.mark.integration

T0 = 1678440000  # 2023-03-10 09:20:00 UTC
HOUR = 3600
USER, DEVICE, MAC = 1, 100, "aa:bb:cc"


@dataclass(frozen=True)
class Person:
    """A user of a story: the first registration's device and MAC, and what the profile events carry."""

    user_id: int
    device_id: int
    mac: str
    name: str
    sex: str
    dob: str  # MM/dd/yyyy, as user_info carries it


ADA = Person(USER, DEVICE, MAC, "Ada", "F", "06/15/1990")
BO = Person(2, 200, "bb:bb:cc", "Bo", "M", "03/01/2000")
CY = Person(3, 300, "cc:bb:cc", "Cy", "F", "11/30/1970")
DEE = Person(4, 400, "dd:bb:cc", "Dee", "F", "07/04/1985")


class Lake:
    def __init__(self, spark, root: Path):
        for schema in SCHEMAS:
            spark.sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self.spark = spark
        self.landing = root / "landing"
        self.config = replace(
            load_config(spark, "dev", age_as_of="2026-01-01"),
            landing=f"file:{self.landing}",
            checkpoints=f"file:{root / 'checkpoints'}",
        )
        for folder in pipeline.landing_folders(self.config):
            Path(folder.removeprefix("file:")).mkdir(parents=True, exist_ok=True)
        create_all(spark, self.config)
        load_date_lookup(spark, self.config)
        self.files = 0

    def land(self, source: str, lines: list[str], header: str | None = None) -> None:
        self.files += 1
        folder = self.landing / source
        folder.mkdir(parents=True, exist_ok=True)
        suffix = "csv" if header else "json"
        body = "\n".join(([header] if header else []) + lines)  # no final newline, as some connectors write
        (folder / f"f{self.files:03d}.{suffix}").write_text(body)

    def register(self, *lines: str) -> None:
        self.land(REGISTERED_USERS, list(lines), CSV_HEADERS[REGISTERED_USERS])

    def kafka(self, *records: tuple[str, object]) -> None:
        self.land(
            "kafka_multiplex",
            [
                json.dumps(
                    {
                        "key": str(i),
                        "value": v if isinstance(v, str) else json.dumps(v),
                        "topic": topic,
                        "partition": 0,
                        "offset": self.files * 100 + i,
                        "timestamp": (T0 + i) * 1000,
                    }
                )
                for i, (topic, v) in enumerate(records)
            ],
        )

    def run(self) -> pipeline.RunSummary:
        return pipeline.run(self.spark, self.config)

    def rows(self, name: str):
        return self.spark.table(name)

    def assert_tables(self, expected: dict[str, list[tuple]], when: str) -> None:
        assert_tables(self.spark, self.config, expected, when)


def registration(who: Person, at: float, device_id: int | None = None, mac: str | None = None) -> str:
    return f"{who.user_id},{device_id or who.device_id},{mac or who.mac},{at}"


def profile(
    kind: str, at: float, city: str = "Oslo", state: str = "NO", who: Person = ADA, dob: str | None = None
) -> tuple[str, dict]:
    return (
        "user_info",
        {
            "user_id": who.user_id,
            "update_type": kind,
            "timestamp": at,
            "dob": dob or who.dob,
            "sex": who.sex,
            "gender": who.sex,
            "first_name": who.name,
            "last_name": "L",
            "address": {"street_address": "1 St", "city": city, "state": state, "zip": "0150"},
        },
    )


def workout(action: str, at: float, workout_id: int = 7, who: Person = ADA) -> tuple[str, dict]:
    session_id = who.user_id * 10 + workout_id
    return (
        "workout",
        {"user_id": who.user_id, "workout_id": workout_id, "timestamp": at, "action": action, "session_id": session_id},
    )


def bpm(at: float, rate: float, device: int = DEVICE) -> tuple[str, dict]:
    return ("bpm", {"device_id": device, "time": at, "heartrate": rate})


def ts(offset: float) -> str:
    """T0 + ``offset`` seconds as an expected timestamp (UTC text)."""
    return utc_text(T0 + offset)


def summary_row(lake: Lake):
    rows = lake.rows("gold.workout_bpm_summary").collect()
    return rows[0] if len(rows) == 1 else rows


@pytest.fixture
def lake(spark, tmp_path):
    return Lake(spark, tmp_path)


def test_late_out_of_order_duplicate_and_malformed_data_across_runs(lake):
    # Run 1: a workout starts, readings arrive (one invalid, one duplicated), the profile is new then updated,
    # the user registers; the stop has not arrived. Malformed lines in each source.
    lake.register(registration(ADA, T0 - 86400), "oops,not,a,number")
    lake.land("gym_logins", [f"{MAC},5,{T0 - 600},{T0 + 3000}"], "mac_address,gym,login,logout")
    lake.kafka(
        workout("start", T0),
        bpm(T0 + 60, 100.0),
        bpm(T0 + 60, 100.0),
        bpm(T0 + 120, 0.0),
        profile("new", T0 - 1000, "Oslo"),
        profile("update", T0 - 500.0, "Bergen"),
        ("bpm", "{not json"),
    )
    lake.land("kafka_multiplex", ["this line is not a record"])
    first = lake.run()
    assert first.quarantined == {
        "bronze.registered_users_bz": 1,
        "bronze.kafka_multiplex_bz": 1,
        "silver.heart_rate": 1,
    }
    assert lake.rows("bronze.kafka_multiplex_bz").count() == 7  # bronze keeps duplicates
    assert lake.rows("silver.heart_rate").count() == 2  # one row per (device_id, time)
    assert lake.rows("silver.completed_workouts").count() == 0
    assert lake.rows("gold.workout_bpm_summary").count() == 0

    # Run 2: the stop arrives a run later; a reading arrives late; a stale update (older than the stored
    # one) arrives out of order; a duplicate of an already-stored reading arrives again.
    lake.kafka(
        workout("stop", T0 + 3900.0), bpm(T0 + 180.0, 110.0), bpm(T0 + 60, 100.0), profile("update", T0 - 700, "Stale")
    )
    lake.run()
    completed = lake.rows("silver.completed_workouts").first()
    assert (completed.end_time.timestamp() - completed.start_time.timestamp()) / 60 == 65.0
    assert lake.rows("silver.heart_rate").count() == 3
    assert lake.rows("silver.user_profile").first().city == "Bergen"
    summary = summary_row(lake)
    assert (summary.num_recordings, summary.min_bpm, summary.max_bpm, summary.avg_bpm) == (2, 100.0, 110.0, 105.0)
    assert (summary.city, summary.age) == ("Bergen", "35-45")
    gym = lake.rows("gold.gym_summary").first()
    assert (gym.minutes_exercising, gym.minutes_in_gym) == (65.0, 60.0)

    # Run 3: a reading for the finished workout arrives late; the user is deleted; an update older than
    # the delete arrives after it and must not bring the user back.
    lake.kafka(bpm(T0 + 240, 120.0), profile("delete", T0 + 10_000), profile("update", T0 + 5_000, "Ghost"))
    lake.run()
    assert lake.rows("silver.workout_bpm").count() == 3
    assert lake.rows("silver.user_profile").count() == 0
    assert lake.rows("silver.user_bins").count() == 0
    assert lake.rows("gold.workout_bpm_summary").count() == 0

    # A run with no new input changes no table.
    versions = {name: _version(lake, name) for name in _tables(lake)}
    rerun = lake.run()
    assert all(v == {"inserted": 0, "updated": 0, "deleted": 0} for v in rerun.tables.values())
    assert {name: _version(lake, name) for name in _tables(lake)} == versions


def test_workouts_that_complete_before_their_user_registers_get_their_readings(lake):
    lake.kafka(workout("start", T0), bpm(T0 + 60, 90.0), workout("stop", T0 + 600), profile("new", T0 - 100))
    lake.run()
    assert lake.rows("silver.workout_bpm").count() == 0
    lake.register(registration(ADA, T0 - 86400))
    lake.run()
    assert lake.rows("silver.workout_bpm").count() == 1
    assert summary_row(lake).num_recordings == 1


def test_a_later_stop_moves_the_end_and_one_past_the_bound_ends_the_workout(lake):
    lake.register(registration(ADA, T0 - 86400))
    lake.kafka(
        profile("new", T0 - 100),
        workout("start", T0),
        workout("stop", T0 + 600),
        bpm(T0 + 60, 90.0),
        bpm(T0 + 900, 120.0),
    )
    lake.run()
    assert summary_row(lake).num_recordings == 1
    lake.kafka(workout("stop", T0 + 1200))  # a later stop: the workout now ends at T0 + 1200
    lake.run()
    completed = lake.rows("silver.completed_workouts").first()
    assert completed.end_time.timestamp() == T0 + 1200
    assert {r.end_time.timestamp() for r in lake.rows("silver.workout_bpm").collect()} == {T0 + 1200}
    assert (summary_row(lake).num_recordings, summary_row(lake).max_bpm) == (2, 120.0)
    lake.kafka(workout("stop", T0 + 4 * 3600))  # the latest stop is past the 3-hour bound: not a workout
    lake.run()
    _assert_no_workout(lake)
    # Events that come after it, far from that stop, do not bring the workout back: the latest stop stays past the
    # bound. A start sent again (a duplicate), then a new stop inside the bound.
    for event, events_held in ((workout("start", T0), 4), (workout("stop", T0 + 1500), 5)):
        lake.kafka(event)
        lake.run()
        assert lake.rows("silver.workouts").count() == events_held  # it reached silver (a duplicate adds no row)
        _assert_no_workout(lake)


def _assert_no_workout(lake: Lake) -> None:
    assert lake.rows("silver.completed_workouts").count() == 0
    assert lake.rows("silver.workout_bpm").count() == 0
    assert lake.rows("gold.workout_bpm_summary").count() == 0


def test_gold_follows_late_readings_profile_changes_deletes_re_signups_and_earlier_registrations(lake):
    """Rules shown by comparing every table they pass through in full after each of three runs, each user
    playing a part (ages on age_as_of, 2026-01-01):

    - Ada: ``workout_bpm`` picks up a reading that arrives after its workout completed, and gold is complete
      after every batch run: the late reading reaches her gold row (run 2).
    - Bo: ``user_profile`` keeps the newest new/update, and a profile-bin change recomputes the user's gold
      rows: a move (run 2) and a corrected date of birth that changes the age bin (run 3) update his existing
      gold row.
    - Cy: a delete newer than the profile removes the user from ``user_profile``, ``user_bins`` and the gold
      summary while the other users' rows stay (run 2); a ``new`` newer than the delete (a re-signup) brings
      the user back, with the workout recorded before the delete (run 3).
    - Dee: completed_workouts keeps start < end < start + ``max_workout_hours``, so a workout of exactly the
      maximum length is not completed and one a second shorter is (run 1); ``users`` keeps the earliest
      registration, and one arriving late with another device replaces the workout's readings with that
      device's (run 3).
    """
    longest = lake.config.max_workout_hours * HOUR
    dee_2 = longest + HOUR  # Dee's second workout starts an hour after her first one's stop
    lake.register(*(registration(who, T0 - 86400) for who in (ADA, BO, CY)), registration(DEE, T0 - 100))
    lake.kafka(
        profile("new", T0 - 1000, "Oslo", "NO", ADA),
        profile("new", T0 - 1000, "Bergen", "NO", BO),
        profile("new", T0 - 1000, "Malmo", "SE", CY),
        profile("new", T0 - 1000, "Turku", "FI", DEE),
        *(workout(action, T0 + at, 1, ADA) for action, at in (("start", 0), ("stop", HOUR))),
        *(workout(action, T0 + at, 1, who) for who in (BO, CY) for action, at in (("start", 0), ("stop", 1800))),
        workout("start", T0, 1, DEE),
        workout("stop", T0 + longest, 1, DEE),  # exactly the maximum length: not a completed workout
        workout("start", T0 + dee_2, 2, DEE),
        workout("stop", T0 + dee_2 + longest - 1, 2, DEE),  # a second shorter: completed
        bpm(T0 + 60, 100.0, ADA.device_id),
        bpm(T0 + 120, 110.0, ADA.device_id),
        bpm(T0 + 60, 80.0, BO.device_id),
        bpm(T0 + 120, 90.0, BO.device_id),
        bpm(T0 + 60, 120.0, CY.device_id),
        bpm(T0 + 60, 95.0, DEE.device_id),
        bpm(T0 + dee_2 + 60, 90.0, DEE.device_id),
        bpm(T0 + dee_2 + 120, 70.0, 401),  # a device Dee has not registered (yet)
    )
    lake.run()
    expected = {
        "silver.users": [
            (1, 100, "aa:bb:cc", ts(-86400)),
            (2, 200, "bb:bb:cc", ts(-86400)),
            (3, 300, "cc:bb:cc", ts(-86400)),
            (4, 400, "dd:bb:cc", ts(-100)),
        ],
        "silver.user_profile": [
            (1, "1990-06-15", "F", "F", "Ada", "L", "1 St", "Oslo", "NO", "0150", ts(-1000)),
            (2, "2000-03-01", "M", "M", "Bo", "L", "1 St", "Bergen", "NO", "0150", ts(-1000)),
            (3, "1970-11-30", "F", "F", "Cy", "L", "1 St", "Malmo", "SE", "0150", ts(-1000)),
            (4, "1985-07-04", "F", "F", "Dee", "L", "1 St", "Turku", "FI", "0150", ts(-1000)),
        ],
        "silver.user_deletes": [],
        "silver.user_bins": [
            (1, "35-45", "F", "Oslo", "NO"),
            (2, "25-35", "M", "Bergen", "NO"),
            (3, "55-65", "F", "Malmo", "SE"),
            (4, "35-45", "F", "Turku", "FI"),
        ],
        "silver.heart_rate": [
            (100, ts(60), 100.0, True),
            (100, ts(120), 110.0, True),
            (200, ts(60), 80.0, True),
            (200, ts(120), 90.0, True),
            (300, ts(60), 120.0, True),
            (400, ts(60), 95.0, True),
            (400, ts(dee_2 + 60), 90.0, True),
            (401, ts(dee_2 + 120), 70.0, True),
        ],
        "silver.workouts": [
            (1, 1, ts(0), "start", 11),
            (1, 1, ts(HOUR), "stop", 11),
            (2, 1, ts(0), "start", 21),
            (2, 1, ts(1800), "stop", 21),
            (3, 1, ts(0), "start", 31),
            (3, 1, ts(1800), "stop", 31),
            (4, 1, ts(0), "start", 41),
            (4, 1, ts(longest), "stop", 41),
            (4, 2, ts(dee_2), "start", 42),
            (4, 2, ts(dee_2 + longest - 1), "stop", 42),
        ],
        "silver.completed_workouts": [  # not Dee's first: exactly the maximum length
            (1, 1, 11, ts(0), ts(HOUR)),
            (2, 1, 21, ts(0), ts(1800)),
            (3, 1, 31, ts(0), ts(1800)),
            (4, 2, 42, ts(dee_2), ts(dee_2 + longest - 1)),
        ],
        "silver.workout_bpm": [
            (1, 1, 11, ts(0), ts(HOUR), ts(60), 100.0),
            (1, 1, 11, ts(0), ts(HOUR), ts(120), 110.0),
            (2, 1, 21, ts(0), ts(1800), ts(60), 80.0),
            (2, 1, 21, ts(0), ts(1800), ts(120), 90.0),
            (3, 1, 31, ts(0), ts(1800), ts(60), 120.0),
            (4, 2, 42, ts(dee_2), ts(dee_2 + longest - 1), ts(dee_2 + 60), 90.0),
        ],
        "gold.workout_bpm_summary": [
            (1, 11, 1, "35-45", "F", "Oslo", "NO", 100.0, 105.0, 110.0, 2),
            (1, 21, 2, "25-35", "M", "Bergen", "NO", 80.0, 85.0, 90.0, 2),
            (1, 31, 3, "55-65", "F", "Malmo", "SE", 120.0, 120.0, 120.0, 1),
            (2, 42, 4, "35-45", "F", "Turku", "FI", 90.0, 90.0, 90.0, 1),
        ],
    }
    lake.assert_tables(expected, "after run 1")

    # Run 2: Ada's reading arrives after her workout completed; Bo moves; Cy is deleted. Dee's row stays as it is.
    lake.kafka(
        bpm(T0 + 180, 120.0, ADA.device_id),
        profile("update", T0 + 2000, "Stockholm", "SE", BO),
        profile("delete", T0 + 5000, "Malmo", "SE", CY),
    )
    lake.run()
    expected["silver.user_profile"] = [
        (1, "1990-06-15", "F", "F", "Ada", "L", "1 St", "Oslo", "NO", "0150", ts(-1000)),
        (2, "2000-03-01", "M", "M", "Bo", "L", "1 St", "Stockholm", "SE", "0150", ts(2000)),
        (4, "1985-07-04", "F", "F", "Dee", "L", "1 St", "Turku", "FI", "0150", ts(-1000)),
    ]
    expected["silver.user_deletes"] = [(3, ts(5000))]
    expected["silver.user_bins"] = [
        (1, "35-45", "F", "Oslo", "NO"),
        (2, "25-35", "M", "Stockholm", "SE"),
        (4, "35-45", "F", "Turku", "FI"),
    ]
    expected["silver.heart_rate"] = [*expected["silver.heart_rate"], (100, ts(180), 120.0, True)]
    # Cy's readings stay in silver: a delete removes the profile, and with it the gold rows.
    expected["silver.workout_bpm"] = [*expected["silver.workout_bpm"], (1, 1, 11, ts(0), ts(HOUR), ts(180), 120.0)]
    expected["gold.workout_bpm_summary"] = [
        (1, 11, 1, "35-45", "F", "Oslo", "NO", 100.0, 110.0, 120.0, 3),
        (1, 21, 2, "25-35", "M", "Stockholm", "SE", 80.0, 85.0, 90.0, 2),
        (2, 42, 4, "35-45", "F", "Turku", "FI", 90.0, 90.0, 90.0, 1),
    ]
    lake.assert_tables(expected, "after run 2")

    # Run 3: Cy signs up again, after the delete; Bo's date of birth is corrected (another age bin); Dee's
    # registration of an earlier time with device 401 arrives late. Ada's row stays as it is.
    lake.register(registration(DEE, T0 - 5000, 401, "dd:01:cc"))
    lake.kafka(
        profile("new", T0 + 6000, "Copenhagen", "DK", CY),
        profile("update", T0 + 7000, "Stockholm", "SE", BO, dob="03/01/1980"),
    )
    lake.run()
    expected["silver.users"] = [
        (1, 100, "aa:bb:cc", ts(-86400)),
        (2, 200, "bb:bb:cc", ts(-86400)),
        (3, 300, "cc:bb:cc", ts(-86400)),
        (4, 401, "dd:01:cc", ts(-5000)),
    ]
    expected["silver.user_profile"] = [
        (1, "1990-06-15", "F", "F", "Ada", "L", "1 St", "Oslo", "NO", "0150", ts(-1000)),
        (2, "1980-03-01", "M", "M", "Bo", "L", "1 St", "Stockholm", "SE", "0150", ts(7000)),
        (3, "1970-11-30", "F", "F", "Cy", "L", "1 St", "Copenhagen", "DK", "0150", ts(6000)),
        (4, "1985-07-04", "F", "F", "Dee", "L", "1 St", "Turku", "FI", "0150", ts(-1000)),
    ]
    expected["silver.user_bins"] = [
        (1, "35-45", "F", "Oslo", "NO"),
        (2, "45-55", "M", "Stockholm", "SE"),
        (3, "55-65", "F", "Copenhagen", "DK"),
        (4, "35-45", "F", "Turku", "FI"),
    ]
    expected["silver.workout_bpm"] = [
        (1, 1, 11, ts(0), ts(HOUR), ts(60), 100.0),
        (1, 1, 11, ts(0), ts(HOUR), ts(120), 110.0),
        (1, 1, 11, ts(0), ts(HOUR), ts(180), 120.0),
        (2, 1, 21, ts(0), ts(1800), ts(60), 80.0),
        (2, 1, 21, ts(0), ts(1800), ts(120), 90.0),
        (3, 1, 31, ts(0), ts(1800), ts(60), 120.0),
        (4, 2, 42, ts(dee_2), ts(dee_2 + longest - 1), ts(dee_2 + 120), 70.0),  # device 401's, not 400's
    ]
    expected["gold.workout_bpm_summary"] = [
        (1, 11, 1, "35-45", "F", "Oslo", "NO", 100.0, 110.0, 120.0, 3),
        (1, 21, 2, "45-55", "M", "Stockholm", "SE", 80.0, 85.0, 90.0, 2),
        (1, 31, 3, "55-65", "F", "Copenhagen", "DK", 120.0, 120.0, 120.0, 1),
        (2, 42, 4, "35-45", "F", "Turku", "FI", 70.0, 70.0, 70.0, 1),
    ]
    lake.assert_tables(expected, "after run 3")


def _tables(lake: Lake) -> list[str]:
    """Every table the flows write, derived ones included."""
    return [name for flow in pipeline.FLOWS for name in flow.targets(lake.config)]


def _version(lake: Lake, name: str) -> int:
    return lake.spark.sql(f"DESCRIBE HISTORY {name}").agg(F.max("version")).first()[0]
