"""The sample-data generator: determinism, the landing format, every scenario, and manifests that add up.

No Spark: the generator is pure Python. Counts in the manifests are checked against recounts made another
way (from the simulated world, or from line counts of the files), never by re-running the manifest's code.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from fitlake.errors import ConfigError
from fitlake.sample import SampleSpec, build_sample, generate, shipped_sets_dir
from fitlake.sample.feed import LATE_READINGS, READINGS_AROUND_WORKOUT
from fitlake.sample.generator import main
from fitlake.sample.model import (
    DELETE,
    START,
    STOP,
    UPDATE,
    BadLine,
    BadPayload,
    GymRow,
    Landed,
    ProfileEvent,
    Reading,
    Registration,
    Sample,
    Workout,
    WorkoutEvent,
)
from fitlake.sample.rows import read_expected
from fitlake.sample.spec import expected_folder, manifest_path, set_folder
from fitlake.sample.world import NO_STOP_READING_MINUTES, ROLES
from fitlake.tables import TABLES

SPEC = SampleSpec()
SOURCES_SET1 = {"registered_users", "gym_logins", "kafka_multiplex", "date_lookup"}
SOURCES_SET2 = {"registered_users", "gym_logins", "kafka_multiplex"}
KAFKA_FIELDS = {"key", "value", "topic", "partition", "offset", "timestamp"}
PAYLOAD_FIELDS = {
    "user_info": {"user_id", "update_type", "timestamp", "dob", "sex", "gender", "first_name", "last_name", "address"},
    "bpm": {"device_id", "time", "heartrate"},
    "workout": {"user_id", "workout_id", "timestamp", "action", "session_id"},
}
EPOCH = re.compile(r"^\d{10}(\.0)?$")


@pytest.fixture(scope="module")
def sample() -> Sample:
    return build_sample(SPEC)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    generate(SPEC, folder)
    return folder


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def manifest(out: Path, set_no: int) -> dict:
    return json.loads(manifest_path(out, set_no).read_text(encoding="utf-8"))


def value(manifest_doc: dict, table: str, column: str, where: dict) -> object:
    (entry,) = [v for v in manifest_doc["values"] if (v["table"], v["column"], v["where"]) == (table, column, where)]
    return entry["expected"]


def kafka_lines(folder: Path) -> list[str]:
    return [line for path in sorted(folder.glob("kafka_multiplex/*.json")) for line in path.read_text().splitlines()]


def kafka_records(folder: Path) -> list[dict]:
    return [record for path in sorted(folder.glob("kafka_multiplex/*.json")) for record in file_records(path)]


def file_records(path: Path) -> list[dict]:
    """The lines of a Kafka landing file that are JSON (all but the malformed ones)."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def of(sample: Sample, kind: type, upto_set: int = 2) -> list[Landed]:
    return [item for item in sample.landed(upto_set) if isinstance(item.record, kind)]


def workout_where(workout: Workout) -> dict:
    return {"user_id": workout.user_id, "workout_id": workout.workout_id, "session_id": workout.session_id}


def gym_where(sample: Sample, workout: Workout) -> dict:
    mac = next(u.mac_address for u in sample.world.users if u.user_id == workout.user_id)
    return {"mac_address": mac, "workout_id": workout.workout_id, "session_id": workout.session_id}


# Determinism


def test_same_spec_writes_byte_identical_output(out, tmp_path):
    generate(SPEC, tmp_path)
    assert tree(tmp_path) == tree(out)


def test_another_seed_writes_other_data(out, tmp_path):
    generate(replace(SPEC, seed=SPEC.seed + 1), tmp_path)
    assert tree(tmp_path) != tree(out)


def test_generating_again_replaces_earlier_sets(out, tmp_path):
    generate(replace(SPEC, days=5), tmp_path)
    generate(SPEC, tmp_path)
    assert tree(tmp_path) == tree(out)


def test_generate_returns_the_set_folders(tmp_path):
    assert generate(SPEC, tmp_path) == {1: tmp_path / "set1", 2: tmp_path / "set2"}


# Landing layout and format


def test_landing_layout(out):
    assert {p.name for p in set_folder(out, 1).iterdir()} == SOURCES_SET1
    assert {p.name for p in set_folder(out, 2).iterdir()} == SOURCES_SET2
    landed = sorted(set_folder(out, 1).rglob("*.*"))
    assert {path.parent.name for path in landed} == SOURCES_SET1
    for path in landed:
        assert path.suffix == (".csv" if path.parent.name in ("registered_users", "gym_logins") else ".json")
    assert manifest_path(out, 1).is_file() and manifest_path(out, 2).is_file()


@pytest.mark.parametrize("set_no", [1, 2])
def test_csv_headers(out, set_no):
    headers = {"registered_users": "user_id,device_id,mac_address,registration_timestamp"}
    headers["gym_logins"] = "mac_address,gym,login,logout"
    for source, header in headers.items():
        paths = sorted((set_folder(out, set_no) / source).glob("*.csv"))
        assert paths
        assert all(p.read_text().splitlines()[0] == header for p in paths)


@pytest.mark.parametrize("set_no", [1, 2])
def test_kafka_lines_are_records_with_documented_payloads(out, set_no):
    records = kafka_records(set_folder(out, set_no))
    assert records
    payloads_checked = set()
    for record in records:
        assert set(record) == KAFKA_FIELDS
        assert isinstance(record["key"], str) and isinstance(record["value"], str)
        assert isinstance(record["partition"], int) and isinstance(record["offset"], int)
        try:
            payload = json.loads(record["value"])
        except json.JSONDecodeError:
            continue  # the record whose value is not JSON
        if record["topic"] == "bpm" and "device_id" not in payload:
            continue  # the bpm payload without device_id
        assert set(payload) == PAYLOAD_FIELDS[record["topic"]]
        payloads_checked.add(record["topic"])
        if record["topic"] == "user_info":
            assert re.fullmatch(r"\d\d/\d\d/\d{4}", payload["dob"])
            assert set(payload["address"]) == {"street_address", "city", "state", "zip"}
            assert payload["update_type"] in ("new", "update", "delete")
        if record["topic"] == "workout":
            assert payload["action"] in ("start", "stop")
            assert all(isinstance(payload[k], int) for k in ("user_id", "workout_id", "session_id"))
    assert payloads_checked == set(PAYLOAD_FIELDS)  # every topic's payload was checked, not only skipped


def test_kafka_offsets_grow_per_topic_and_partition(out):
    records = kafka_records(set_folder(out, 1)) + kafka_records(set_folder(out, 2))
    for topic in PAYLOAD_FIELDS:
        for partition in (0, 1):
            offsets = [r["offset"] for r in records if (r["topic"], r["partition"]) == (topic, partition)]
            assert offsets, f"no {topic} record on partition {partition}"
            assert offsets == list(range(len(offsets)))


def test_mac_addresses_and_gyms(sample):
    registrations, gym_rows = of(sample, Registration), of(sample, GymRow)
    assert registrations and gym_rows
    for item in registrations:
        assert re.fullmatch(r"14:0a(:[0-9a-f]{2}){4}", item.record.mac_address)
    assert all(isinstance(item.record.gym, int) for item in gym_rows)


def test_date_lookup_covers_every_event_date_with_margin(out, sample):
    rows = [json.loads(line) for line in (out / "set1/date_lookup/set1-part-00000.json").read_text().splitlines()]
    dates = [row["date"] for row in rows]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    times = [t for i in sample.feed for t in _times(i.record)]
    first, last = _utc_date(min(times)), _utc_date(max(times))
    assert dates[0] < first and last < dates[-1]
    monday = next(row for row in rows if row["date"] == "2023-03-06")
    assert monday == {
        "date": "2023-03-06",
        "week": 10,
        "year": 2023,
        "month": 3,
        "dayofweek": 2,
        "dayofmonth": 6,
        "dayofyear": 65,
        "week_part": "2023-10",
    }


# Landing quirks


def test_event_times_mix_integer_and_decimal_forms_within_one_file(out):
    csv_checked = set()
    for path in sorted(out.glob("set*/*/*.csv")):
        rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
        first_time_column = 2 if path.parent.name == "gym_logins" else 3
        times = [t for row in rows if len(row) == 4 for t in row[first_time_column:] if EPOCH.match(t)]
        if len(rows) >= 2:
            assert {"." in t for t in times} == {True, False}, path
            csv_checked.add(path.parent.name)
    assert csv_checked == {"registered_users", "gym_logins"}  # a file of each CSV source had two rows or more
    kafka_files = sorted(out.glob("set*/kafka_multiplex/*.json"))
    assert kafka_files
    for path in kafka_files:
        payloads = [json.loads(r["value"]) for r in file_records(path) if r["value"].startswith('{"')]
        forms = {type(p.get("time", p.get("timestamp"))) for p in payloads}
        assert forms == {int, float}, path


def test_some_files_lack_a_final_newline_and_others_have_one(out):
    endings = {path: path.read_bytes().endswith(b"\n") for path in out.glob("set*/*/*")}
    assert not all(endings.values()) and any(endings.values())
    for path in out.glob("set*/*/*"):
        assert all(path.read_text().splitlines()), f"{path} has a blank line"


def test_kafka_timestamps_in_milliseconds_and_some_in_seconds(out):
    for set_no in (1, 2):
        stamps = [r["timestamp"] for r in kafka_records(set_folder(out, set_no))]
        seconds = [s for s in stamps if s < 1e11]
        assert seconds and len(seconds) < len(stamps) / 4
        assert all(1e12 < s < 1e13 for s in stamps if s >= 1e11)


# Scenarios in the ground truth


def test_registrations_twice_and_late(sample):
    world, cutoff = sample.world, SPEC.cutoff_ms
    rows = of(sample, Registration)
    exact = world.user("exact_duplicate_registration")
    copies = [i for i in rows if i.record.user_id == exact.user_id]
    assert len(copies) == 2 and copies[0].record == copies[1].record and copies[1].set_no == 2
    moved = world.user("re_registered_new_device")
    later = [i.record for i in rows if i.record.user_id == moved.user_id and i.record.device_id != moved.device_id]
    assert len(later) == 1 and later[0].timestamp > moved.registered_at
    same = world.user("re_registered_same_device")
    assert len([i for i in of(sample, Registration, 1) if i.record.user_id == same.user_id]) == 2
    late = [u for u in world.users if u.registered_at * 1000 >= cutoff]
    assert [u.user_id for u in late] == [world.roles["registers_in_next_set"], world.roles["registers_in_next_set_too"]]


def test_out_of_order_updates(sample):
    for role, older_set in (("out_of_order_update_next_set", 2), ("out_of_order_update_same_set", 1)):
        events = [i for i in of(sample, ProfileEvent) if i.record.user_id == sample.world.roles[role]]
        updates = [i for i in events if i.record.update_type == UPDATE]
        assert len(updates) == 2
        first_landed, last_landed = updates
        assert last_landed.record.timestamp < first_landed.record.timestamp
        assert (first_landed.set_no, last_landed.set_no) == (1, older_set)
        if older_set == 1:
            assert first_landed.file == last_landed.file


def test_delete_then_stale_update_and_delete_in_set_2(sample):
    stale_role = sample.world.roles["deleted_with_stale_update"]
    events = [i for i in of(sample, ProfileEvent) if i.record.user_id == stale_role]
    (delete,) = [i for i in events if i.record.update_type == DELETE]
    after = events[events.index(delete) + 1 :]
    assert delete.set_no == 1
    assert [(i.record.update_type, i.set_no) for i in after] == [(UPDATE, 2)]
    assert all(i.record.timestamp < delete.record.timestamp for i in events if i is not delete)
    next_set_role = sample.world.roles["deleted_in_next_set"]
    (late_delete,) = [
        i for i in of(sample, ProfileEvent) if i.record.user_id == next_set_role and i.record.update_type == DELETE
    ]
    assert late_delete.set_no == 2


def test_every_user_sends_new_and_some_update(sample):
    events = [i.record for i in of(sample, ProfileEvent)]
    assert sorted(e.user_id for e in events if e.update_type == "new") == sorted(u.user_id for u in sample.world.users)
    assert len([e for e in events if e.update_type == UPDATE]) >= 6


def test_logouts_written_again(sample):
    rows = of(sample, GymRow)

    def written(tag):
        visit = sample.world.visit(tag)
        key = (visit.mac_address, visit.gym, visit.login)
        return [
            (i.record.logout, i.set_no) for i in rows if (i.record.mac_address, i.record.gym, i.record.login) == key
        ], visit

    (first, second), visit = written("relogout_next_set")
    assert first[1] == 1 and second[1] == 2 and second[0] > first[0] == visit.logouts[0]
    (first, second), _ = written("relogout_same_set")
    assert first[1] == second[1] == 1 and second[0] > first[0]
    (first, second), _ = written("relogout_reverse_order")
    assert first[1] == second[1] and second[0] < first[0]


def _events(sample: Sample, workout: Workout) -> list[Landed]:
    return [
        i
        for i in of(sample, WorkoutEvent)
        if (i.record.user_id, i.record.workout_id, i.record.session_id) == workout.key
    ]


def test_workout_scenarios(sample):
    world, max_seconds = sample.world, SPEC.max_workout_seconds
    exact = world.workout("exactly_65_min")
    assert exact.end - exact.start == 65 * 60
    long = world.workout("over_max_hours")
    assert long.end - long.start > max_seconds and {i.record.action for i in _events(sample, long)} == {START, STOP}
    assert [i.record.action for i in _events(sample, world.workout("no_stop"))] == [START]
    late_stop = [(i.record.action, i.set_no) for i in _events(sample, world.workout("stop_in_next_set"))]
    assert late_stop == [(START, 1), (STOP, 2)]
    stop_first = _events(sample, world.workout("stop_before_start"))
    assert [i.record.action for i in stop_first] == [STOP, START] and stop_first[0].file == stop_first[1].file
    duplicated = _events(sample, world.workout("duplicate_start_event"))
    starts = [i.record for i in duplicated if i.record.action == START]
    assert len(starts) == 2 and starts[0] == starts[1]
    assert len({w.session_id for w in world.workouts}) == len(world.workouts)


def test_workouts_inside_and_outside_gym_visits(sample):
    world = sample.world
    macs = {u.user_id: u.mac_address for u in world.users}

    def in_visit(w):
        return any(v.mac_address == macs[w.user_id] and v.login <= w.start <= v.logout for v in world.visits)

    inside = [w for w in world.workouts if in_visit(w)]
    assert inside and len(inside) < len(world.workouts)
    at_login = world.workout("starts_at_login")
    assert any(v.login == at_login.start for v in world.visits)


def test_heart_rate_scenarios(sample):
    world, interval = sample.world, SPEC.bpm_interval_seconds
    readings = of(sample, Reading)
    exact = world.workout("exactly_65_min")
    device = next(u.device_id for u in world.users if u.user_id == exact.user_id)
    mine = [i for i in readings if i.record.device_id == device and exact.start <= i.record.time <= exact.end]
    assert sorted(i.record.heartrate for i in mine if i.record.heartrate <= 0) == [-1.0, 0.0]
    records = [i.record for i in mine]
    twice = [r for r in set(records) if records.count(r) == 2]
    assert len(twice) == 2
    places = {r: [(i.set_no, i.file) for i in mine if i.record == r] for r in twice}
    assert sorted(len({p[0] for p in spots}) for spots in places.values()) == [1, 2]  # one in a file, one across
    late = world.workout("late_readings")
    late_device = next(u.device_id for u in world.users if u.user_id == late.user_id)
    in_set2 = [i for i in readings if i.record.device_id == late_device and i.set_no == 2]
    assert len(in_set2) == LATE_READINGS and all(late.start < i.record.time <= late.end for i in in_set2)
    before = [i for i in readings if i.record.device_id == device and i.record.time < exact.start]
    assert len(before) == READINGS_AROUND_WORKOUT
    times = sorted({r.time for r in records})
    assert {b - a for a, b in zip(times, times[1:], strict=False)} == {interval}


def test_same_device_and_time_always_carries_the_same_heartrate(sample):
    seen: dict[tuple[int, int], float] = {}
    readings = of(sample, Reading)
    assert len({(i.record.device_id, i.record.time) for i in readings}) < len(readings)  # some sent twice
    for item in readings:
        assert (
            seen.setdefault((item.record.device_id, item.record.time), item.record.heartrate) == item.record.heartrate
        )


def test_malformed_lines(sample, out):
    bad_lines = [(i.set_no, i.source) for i in sample.feed if isinstance(i.record, BadLine)]
    assert sorted(bad_lines) == [
        (1, "kafka_multiplex"),
        (1, "registered_users"),
        (2, "gym_logins"),
        (2, "kafka_multiplex"),
    ]
    bad_payloads = [(i.set_no, i.record.topic) for i in sample.feed if isinstance(i.record, BadPayload)]
    assert sorted(bad_payloads) == [(1, "user_info"), (2, "bpm")]
    for set_no in (1, 2):
        lines = kafka_lines(set_folder(out, set_no))
        assert len(lines) - len(kafka_records(set_folder(out, set_no))) == 1  # one line is not JSON
    missing = [
        json.loads(r["value"])
        for r in kafka_records(set_folder(out, 2))
        if r["topic"] == "bpm" and "device_id" not in r["value"]
    ]
    assert len(missing) == 1 and set(missing[0]) == {"time", "heartrate"}
    csv_rows = [line.split(",") for p in out.glob("set*/*/*.csv") for line in p.read_text().splitlines()[1:]]
    assert len([r for r in csv_rows if len(r) != 4]) == 1
    assert len([r for r in csv_rows if len(r) == 4 and not EPOCH.match(r[3])]) == 1


# Manifests


def test_manifest_format(out):
    for set_no in (1, 2):
        doc = manifest(out, set_no)
        assert doc["age_as_of"] == SPEC.age_as_of and doc["avg_bpm tolerance"] == 1e-9
        assert doc["spec"]["seed"] == SPEC.seed
        assert doc["values"] and any(v["column"] == "avg_bpm" for v in doc["values"])
        assert all(set(v) >= {"table", "where", "column", "expected"} for v in doc["values"])
        assert all(v.get("tolerance") == 1e-9 for v in doc["values"] if v["column"] == "avg_bpm")
        # Every table the pipeline maintains (fitlake.tables, written independently of the generator), less
        # the tombstones the pipeline keeps for itself, plus the gym summary view.
        pipeline_tables = {f"{t.schema}.{t.name}" for t in TABLES if t.name != "user_deletes"}
        assert set(doc["tables"]) == pipeline_tables | {"gold.gym_summary"}


@pytest.mark.parametrize("set_no", [1, 2])
def test_expected_rows_hold_every_silver_and_gold_table_in_full(out, set_no):
    tables = read_expected(expected_folder(out, set_no))
    counts = manifest(out, set_no)["tables"]
    ddl = {f"{t.schema}.{t.name}": t.columns for t in TABLES if t.schema in ("silver", "gold")}
    assert set(tables) == set(ddl) | {"gold.gym_summary"}
    for name, table in tables.items():
        assert len(table.rows) == len(set(table.rows)) == counts.get(name, len(table.rows)), name
        assert all(len(row) == len(table.columns) for row in table.rows), name
        if name in ddl:  # the DDL's columns, in its order, less those that are not a function of the data
            columns = [c.split()[0] for c in ddl[name].split(", ")]
            assert list(table.columns) == [c for c in columns if c not in ("load_time", "reason")], name
    assert tables["silver.user_deletes"].rows and tables["silver.quarantine"].rows


def test_expected_rows_agree_with_the_manifest_values(out, sample):
    tables = read_expected(expected_folder(out, 2))
    late = sample.world.workout("late_readings")
    summary = tables["gold.workout_bpm_summary"]
    (row,) = [r for r in summary.rows if (r[2], r[0], r[1]) == late.key]
    doc = manifest(out, 2)
    for column in ("min_bpm", "avg_bpm", "max_bpm", "num_recordings"):
        assert row[summary.columns.index(column)] == value(doc, "gold.workout_bpm_summary", column, workout_where(late))
    # The profile's bins too, which the manifest's values never held: the user's latest profile.
    user = late.user_id
    (bins,) = [r for r in tables["silver.user_bins"].rows if r[0] == user]
    assert row[3:7] == bins[1:5]


def _readings_inside(workout: Workout) -> int:
    """Readings a device sends with start < time <= end: one every interval from the start."""
    return (workout.end - workout.start) // SPEC.bpm_interval_seconds


def _readings_sent(workout: Workout) -> int:
    end = workout.end if workout.end is not None else workout.start + NO_STOP_READING_MINUTES * 60
    return (end - workout.start) // SPEC.bpm_interval_seconds + 2 * READINGS_AROUND_WORKOUT + 1


def test_set2_counts_match_recounts_from_the_world(out, sample):
    world, tables = sample.world, manifest(out, 2)["tables"]
    completed = [w for w in world.workouts if w.end is not None and w.end - w.start < SPEC.max_workout_seconds]
    deleted = {world.roles["deleted_with_stale_update"], world.roles["deleted_in_next_set"]}
    macs = {u.user_id: u.mac_address for u in world.users}
    assert tables["silver.users"] == len(world.users) == SPEC.users
    assert tables["silver.user_profile"] == tables["silver.user_bins"] == len(world.users) - len(deleted)
    assert tables["silver.gym_logs"] == len(world.visits)
    assert tables["silver.workouts"] == sum(2 if w.end is not None else 1 for w in world.workouts)
    assert tables["silver.completed_workouts"] == len(completed) == len(world.workouts) - 2
    assert tables["silver.heart_rate"] == sum(_readings_sent(w) for w in world.workouts) + 3  # + the stray device
    assert tables["silver.workout_bpm"] == sum(_readings_inside(w) for w in completed) - 2  # the two invalid
    assert tables["gold.workout_bpm_summary"] == len([w for w in completed if w.user_id not in deleted])
    in_gym = [
        w
        for w in completed
        if any(v.mac_address == macs[w.user_id] and v.login <= w.start <= v.logout for v in world.visits)
    ]
    assert tables["gold.gym_summary"] == len(in_gym)
    assert (tables["bronze.quarantine"], tables["silver.quarantine"]) == (4, 2)


def test_set1_counts_match_recounts_from_the_world(out, sample):
    world, tables, cutoff = sample.world, manifest(out, 1)["tables"], SPEC.cutoff_ms // 1000
    users = [u for u in world.users if u.registered_at < cutoff]
    deleted_in_set1 = {world.roles["deleted_with_stale_update"]}
    stop_late = world.workout("stop_in_next_set")
    completed = [
        w
        for w in world.workouts
        if w.end is not None and w.end < cutoff and w.end - w.start < SPEC.max_workout_seconds and w is not stop_late
    ]
    assert tables["silver.users"] == len(users) == SPEC.users - 2
    assert tables["silver.user_profile"] == len(users) - len(deleted_in_set1)
    assert tables["silver.gym_logs"] == len([v for v in world.visits if v.login < cutoff])
    assert tables["silver.completed_workouts"] == len(completed)
    expected_bpm = sum(_readings_inside(w) for w in completed) - 2 - LATE_READINGS
    assert tables["silver.workout_bpm"] == expected_bpm
    assert (tables["bronze.quarantine"], tables["silver.quarantine"]) == (2, 1)


@pytest.mark.parametrize("set_no", [1, 2])
def test_bronze_counts_match_the_landed_lines(out, set_no):
    tables = manifest(out, set_no)["tables"]
    folders = [set_folder(out, n) for n in range(1, set_no + 1)]

    def data_lines(pattern: str, header: int) -> int:
        return sum(len(p.read_text().splitlines()) - header for f in folders for p in f.glob(pattern))

    kafka = data_lines("kafka_multiplex/*.json", 0)
    csv = data_lines("registered_users/*.csv", 1) + data_lines("gym_logins/*.csv", 1)
    assert tables["bronze.kafka_multiplex_bz"] == len([r for f in folders for r in kafka_records(f)])
    well_formed_csv = tables["bronze.registered_users_bz"] + tables["bronze.gym_logins_bz"]
    assert kafka + csv == tables["bronze.kafka_multiplex_bz"] + well_formed_csv + tables["bronze.quarantine"]
    assert tables["silver.date_lookup"] == data_lines("date_lookup/*.json", 0)


def test_manifest_values(out, sample):
    world = sample.world
    m1, m2 = manifest(out, 1), manifest(out, 2)
    exact, late = world.workout("exactly_65_min"), world.workout("late_readings")
    for doc in (m1, m2):
        assert value(doc, "gold.gym_summary", "minutes_exercising", gym_where(sample, exact)) == 65.0
        assert (
            value(doc, "gold.workout_bpm_summary", "num_recordings", workout_where(exact))
            == _readings_inside(exact) - 2
        )
        assert value(doc, "gold.workout_bpm_summary", "min_bpm", workout_where(exact)) > 0
        deleted = {"user_id": world.roles["deleted_with_stale_update"]}
        assert value(doc, "silver.user_profile", "count", deleted) == 0
        moved = world.user("re_registered_new_device")
        assert value(doc, "silver.users", "device_id", {"user_id": moved.user_id}) == moved.device_id
        assert value(doc, "silver.user_bins", "age", {"user_id": world.roles["age_exactly_25"]}) == "25-35"
        assert value(doc, "silver.user_bins", "age", {"user_id": world.roles["age_17"]}) == "under 18"
    late_where = workout_where(late)
    num = [value(doc, "gold.workout_bpm_summary", "num_recordings", late_where) for doc in (m1, m2)]
    assert num[1] - num[0] == LATE_READINGS
    stop_late = workout_where(world.workout("stop_in_next_set"))
    assert [value(doc, "silver.completed_workouts", "count", stop_late) for doc in (m1, m2)] == [0, 1]
    in_next = {"user_id": world.roles["deleted_in_next_set"]}
    assert [value(doc, "silver.user_profile", "count", in_next) for doc in (m1, m2)] == [1, 0]


def test_manifest_values_for_relogged_visit_and_newest_city(out, sample):
    world = sample.world
    visit = world.visit("relogout_next_set")
    where = {"mac_address": visit.mac_address, "gym": visit.gym, "login": _text(visit.login)}
    logouts = [value(manifest(out, n), "silver.gym_logs", "logout", where) for n in (1, 2)]
    assert logouts == [_text(visit.logouts[0]), _text(max(visit.logouts))]
    reverse = world.visit("relogout_reverse_order")
    where = {"mac_address": reverse.mac_address, "gym": reverse.gym, "login": _text(reverse.login)}
    assert value(manifest(out, 2), "silver.gym_logs", "logout", where) == _text(reverse.logouts[0])
    assert reverse.logouts[0] > reverse.logouts[-1]
    relogged = gym_where(sample, world.workout("in_relogout_next_set"))
    assert value(manifest(out, 2), "gold.gym_summary", "minutes_in_gym", relogged) == round(
        (visit.logout - visit.login) / 60, 2
    )
    user_id = world.roles["out_of_order_update_next_set"]
    updates = [
        i.record for i in of(sample, ProfileEvent) if i.record.user_id == user_id and i.record.update_type == UPDATE
    ]
    newest, last_to_land = max(updates, key=lambda e: e.timestamp), updates[-1]
    city = value(manifest(out, 2), "silver.user_profile", "city", {"user_id": user_id})
    assert city == newest.profile.address.city != last_to_land.profile.address.city


def test_avg_bpm_is_the_exact_mean(out, sample):
    exact = sample.world.workout("exactly_65_min")
    device = next(u.device_id for u in sample.world.users if u.user_id == exact.user_id)
    rates = {
        i.record.time: i.record.heartrate
        for i in of(sample, Reading)
        if i.record.device_id == device and exact.start < i.record.time <= exact.end and i.record.heartrate > 0
    }
    avg = value(manifest(out, 2), "gold.workout_bpm_summary", "avg_bpm", workout_where(exact))
    assert avg == sum(rates.values()) / len(rates)


# Shipped sets


def test_shipped_sets_are_what_the_default_spec_generates(out):
    assert tree(shipped_sets_dir()) == tree(out), "regenerate: python -m fitlake.sample.generator fitlake/sample/data"


def test_shipped_sets_are_small():
    sizes = {n: sum(len(b) for b in tree(set_folder(shipped_sets_dir(), n)).values()) for n in (1, 2)}
    assert sum(sizes.values()) < 1_000_000
    assert all(size < 400_000 for size in sizes.values())


# Spec and command line


@pytest.mark.parametrize(
    "changes",
    [{"users": 11}, {"days": 1}, {"bpm_interval_seconds": 0}, {"start_date": "06/03/2023"}, {"max_workout_hours": 1}],
)
def test_spec_rejects_values_the_scenarios_cannot_use(changes):
    with pytest.raises(ConfigError):
        replace(SPEC, **changes)


def test_every_role_is_played_by_its_own_user(sample):
    assert len(set(sample.world.roles.values())) == len(ROLES)


def test_larger_spec_generates(tmp_path):
    spec = SampleSpec(users=20, days=5, seed=3, bpm_interval_seconds=60)
    generate(spec, tmp_path)
    tables = manifest(tmp_path, 2)["tables"]
    assert tables["silver.users"] == 20 and tables["silver.user_profile"] == 18


def test_command_line(tmp_path, capsys):
    assert main([str(tmp_path), "--users", "13", "--days", "2", "--seed", "3"]) == 0
    assert manifest(tmp_path, 2)["spec"] == asdict(SampleSpec(users=13, days=2, seed=3))
    assert "set 2:" in capsys.readouterr().out
    assert main([str(tmp_path), "--users", "3"]) == 2
    assert "at least 12 users" in capsys.readouterr().err


def _times(record) -> list[int]:
    if isinstance(record, Registration | WorkoutEvent | ProfileEvent):
        return [record.timestamp]
    if isinstance(record, GymRow):
        return [record.login, record.logout]
    return [record.time] if isinstance(record, Reading) else []


def _utc_date(seconds: int) -> str:
    return _text(seconds)[:10]


def _text(seconds: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start_date": "9999-12-31"}, r"start_date=9999-12-31 \(--start-date\): the sample's dates must lie from"),
        ({"start_date": "4999-12-30"}, r"with days=3 \(--days\)"),
        ({"start_date": "2023-03-06", "days": 10**9}, r"with days=1000000000 \(--days\)"),
        ({"start_date": "1970-01-01"}, r"start_date=1970-01-01 \(--start-date\)"),
        ({"age_as_of": "0001-01-01"}, "age_as_of=0001-01-01: the sample's dates must lie from 1980-01-01"),
    ],
)
def test_dates_outside_what_the_pipeline_reads_are_refused_naming_the_option(changes, message):
    with pytest.raises(ConfigError, match=message):
        replace(SPEC, **changes)


def test_fitlake_generate_with_a_far_start_date_is_a_clear_error(tmp_path, capsys):
    from fitlake import cli

    assert cli.main(["generate", str(tmp_path), "--start-date", "9999-12-31"]) == 2
    assert "start_date=9999-12-31 (--start-date)" in capsys.readouterr().err
    assert main([str(tmp_path), "--start-date", "9999-12-31"]) == 2
    assert "(--start-date)" in capsys.readouterr().err
