"""The pipeline's rules end to end, in-process: landing files -> batch runs -> tables.

One story over three batch runs, so each rule is checked across runs (late, out-of-order, duplicate and
malformed data) without paying for a run per rule; then a replayed micro-batch for exactly-once.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from fitlake import pipeline
from fitlake.config import load_config
from fitlake.pipeline.history import load_date_lookup
from fitlake.tables import SCHEMAS, create_all

pytestmark = pytest.mark.integration

T0 = 1678440000  # 2023-03-10 09:20:00 UTC
USER, DEVICE, MAC = 1, 100, "aa:bb:cc"


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


def profile(kind: str, at: float, city: str = "Oslo") -> tuple[str, dict]:
    return (
        "user_info",
        {
            "user_id": USER,
            "update_type": kind,
            "timestamp": at,
            "dob": "06/15/1990",
            "sex": "F",
            "gender": "F",
            "first_name": "Ada",
            "last_name": "L",
            "address": {"street_address": "1 St", "city": city, "state": "NO", "zip": "0150"},
        },
    )


def workout(action: str, at: float, workout_id: int = 7) -> tuple[str, dict]:
    return (
        "workout",
        {"user_id": USER, "workout_id": workout_id, "timestamp": at, "action": action, "session_id": workout_id * 10},
    )


def bpm(at: float, rate: float, device: int = DEVICE) -> tuple[str, dict]:
    return ("bpm", {"device_id": device, "time": at, "heartrate": rate})


def summary_row(lake: Lake):
    rows = lake.rows("gold.workout_bpm_summary").collect()
    return rows[0] if len(rows) == 1 else rows


@pytest.fixture
def lake(spark, tmp_path):
    return Lake(spark, tmp_path)


def test_late_out_of_order_duplicate_and_malformed_data_across_runs(lake):
    # Run 1: a workout starts, readings arrive (one invalid, one duplicated), the profile is new then updated,
    # the user registers; the stop has not arrived. Malformed lines in each source.
    lake.land(
        "registered_users",
        [f"{USER},{DEVICE},{MAC},{T0 - 86400}", "oops,not,a,number"],
        "user_id,device_id,mac_address,registration_timestamp",
    )
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
    versions = {name: _version(lake, name) for name in _tables()}
    rerun = lake.run()
    assert all(v == {"inserted": 0, "updated": 0, "deleted": 0} for v in rerun.tables.values())
    assert {name: _version(lake, name) for name in _tables()} == versions


def test_workouts_that_complete_before_their_user_registers_get_their_readings(lake):
    lake.kafka(workout("start", T0), bpm(T0 + 60, 90.0), workout("stop", T0 + 600), profile("new", T0 - 100))
    lake.run()
    assert lake.rows("silver.workout_bpm").count() == 0
    lake.land(
        "registered_users",
        [f"{USER},{DEVICE},{MAC},{T0 - 86400}"],
        "user_id,device_id,mac_address,registration_timestamp",
    )
    lake.run()
    assert lake.rows("silver.workout_bpm").count() == 1
    assert summary_row(lake).num_recordings == 1


def test_a_later_stop_moves_the_end_and_one_past_the_bound_ends_the_workout(lake):
    lake.land(
        "registered_users",
        [f"{USER},{DEVICE},{MAC},{T0 - 86400}"],
        "user_id,device_id,mac_address,registration_timestamp",
    )
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
    assert lake.rows("silver.completed_workouts").count() == 0
    assert lake.rows("silver.workout_bpm").count() == 0
    assert lake.rows("gold.workout_bpm_summary").count() == 0


def test_an_earlier_registration_with_another_device_replaces_the_workout_readings(lake):
    header = "user_id,device_id,mac_address,registration_timestamp"
    lake.land("registered_users", [f"{USER},{DEVICE},{MAC},{T0 - 100}"], header)
    lake.kafka(
        profile("new", T0 - 100),
        workout("start", T0),
        workout("stop", T0 + 600),
        bpm(T0 + 60, 90.0),
        bpm(T0 + 60, 70.0, device=200),
    )
    lake.run()
    assert summary_row(lake).min_bpm == 90.0
    lake.land("registered_users", [f"{USER},200,{MAC},{T0 - 5000}"], header)  # earlier: device 200 wins
    lake.run()
    assert [r.heartrate for r in lake.rows("silver.workout_bpm").collect()] == [70.0]
    assert (summary_row(lake).num_recordings, summary_row(lake).min_bpm) == (1, 70.0)


def test_a_replayed_micro_batch_writes_nothing_twice(lake, tmp_path):
    """A crash after a batch's writes but before its commit: Spark replays the batch on restart."""
    lake.land(
        "registered_users",
        [f"{USER},{DEVICE},{MAC},{T0}", "bad,row"],
        "user_id,device_id,mac_address,registration_timestamp",
    )
    lake.run()
    commits = tmp_path / "checkpoints" / "bronze" / "registered_users_bz" / "commits"
    last = sorted(p for p in commits.iterdir() if p.name.isdigit())[-1]
    last.unlink()  # as if the process died between the Delta commits and the stream's own commit
    (commits / f".{last.name}.crc").unlink(missing_ok=True)
    shutil.rmtree(tmp_path / "checkpoints" / "silver", ignore_errors=True)
    lake.run()
    assert lake.rows("bronze.registered_users_bz").count() == 1
    assert lake.rows("bronze.quarantine").count() == 1
    assert lake.rows("silver.users").count() == 1


def _tables() -> list[str]:
    return [flow.name for flow in pipeline.FLOWS]


def _version(lake: Lake, name: str) -> int:
    return lake.spark.sql(f"DESCRIBE HISTORY {name}").agg(F.max("version")).first()[0]
