"""How the world arrives: every record with its arrival time, then arranged into sets, files and Kafka offsets.

A record lands in set 1 when it arrives before the cutoff (midnight of the first set-2 day), else in set 2;
"late" records are given an arrival in the first hours of set 2. Within a set, each landing folder gets
one file per arrival date, lines in arrival order.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fitlake import contract
from fitlake.sample import people
from fitlake.sample.model import (
    DATE_LOOKUP,
    GYM_LOGINS,
    KAFKA_MULTIPLEX,
    REGISTERED_USERS,
    START,
    STOP,
    TOPIC_BPM,
    TOPIC_USER_INFO,
    BadLine,
    BadPayload,
    DateRow,
    GymRow,
    Landed,
    ProfileEvent,
    Reading,
    Record,
    Registration,
    Workout,
    WorkoutEvent,
    World,
)
from fitlake.sample.world import NO_STOP_READING_MINUTES, quarter

SOURCES = (REGISTERED_USERS, GYM_LOGINS, KAFKA_MULTIPLEX, DATE_LOOKUP)
EXTENSIONS = {source.name: source.format for source in contract.SOURCES}  # a file's extension is its format
PARTITIONS = 2
DATE_MARGIN_DAYS = 7
"""date_lookup covers every date an event time touches, plus this many days either side."""
READINGS_AROUND_WORKOUT = 2
"""A device sends this many readings before each workout starts and after it ends."""
LATE_READINGS = 3
"""How many of the last readings of the ``late_readings`` workout arrive in set 2."""


@dataclass
class _Pending:
    source: str
    record: Record
    arrival_ms: int
    set_no: int | None = None


class _Feed:
    def __init__(self, world: World, rng: random.Random):
        self.world = world
        self.spec = world.spec
        self.rng = rng
        self.items: list[_Pending] = []

    def add(self, source: str, record: Record, arrival_ms: int | None = None, set_no: int | None = None) -> int:
        """Add ``record``, arriving at ``arrival_ms`` (default: a second or two after its event time)."""
        if arrival_ms is None:
            arrival_ms = event_times(record)[-1] * 1000 + self.rng.randint(0, 2000)
        self.items.append(_Pending(source, record, arrival_ms, set_no))
        return arrival_ms

    def late(self) -> int:
        """An arrival time in the first six hours of set 2."""
        return self.spec.cutoff_ms + self.rng.randint(1, 6 * 3600) * 1000

    def at(self, day: int, hour: int) -> int:
        return (self.spec.day_start(day) + hour * 3600) * 1000 + self.rng.randrange(3_600_000)


def build_feed(world: World, rng: random.Random) -> tuple[Landed, ...]:
    feed = _Feed(world, rng)
    _registrations(feed)
    for user in world.users:
        for event, arrival_ms in people.profile_history(world, user, rng, feed.late()):
            feed.add(KAFKA_MULTIPLEX, event, arrival_ms)
    _gym_rows(feed)
    for workout in world.workouts:
        _workout_events(feed, workout)
        _readings(feed, workout)
    _malformed(feed)
    _date_rows(feed)
    return _arrange(feed)


def event_times(record: Record) -> tuple[int, ...]:
    """The event times (epoch seconds) a record carries; empty for records without any."""
    if isinstance(record, Registration | WorkoutEvent | ProfileEvent):
        return (record.timestamp,)
    if isinstance(record, GymRow):
        return (record.login, record.logout)
    if isinstance(record, Reading):
        return (record.time,)
    return ()


def kafka_key(record: Record) -> str:
    if isinstance(record, BadPayload):
        return record.key
    return str(record.device_id if isinstance(record, Reading) else record.user_id)


def _registrations(feed: _Feed) -> None:
    world, spec = feed.world, feed.spec
    for user in world.users:
        feed.add(REGISTERED_USERS, Registration(user.user_id, user.device_id, user.mac_address, user.registered_at))
    again = world.user("exact_duplicate_registration")
    row = Registration(again.user_id, again.device_id, again.mac_address, again.registered_at)
    feed.add(REGISTERED_USERS, row, feed.late())
    moved = world.user("re_registered_new_device")
    device_id, mac = world.extra_devices[0]
    feed.add(
        REGISTERED_USERS, Registration(moved.user_id, device_id, mac, spec.day_start(spec.set2_first_day) + 8 * 3600)
    )
    same = world.user("re_registered_same_device")
    feed.add(REGISTERED_USERS, Registration(same.user_id, same.device_id, same.mac_address, spec.day_start(0) + 3600))
    iso = datetime.fromtimestamp(same.registered_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"{same.user_id},{same.device_id},{same.mac_address},{iso}"
    feed.add(REGISTERED_USERS, BadLine(text, "non-numeric registration_timestamp"), same.registered_at * 1000 + 5000)


def _gym_rows(feed: _Feed) -> None:
    for visit in feed.world.visits:
        rows = [GymRow(visit.mac_address, visit.gym, visit.login, logout) for logout in visit.logouts]
        arrival = feed.add(GYM_LOGINS, rows[0])
        for row in rows[1:]:
            if "relogout_next_set" in visit.tags:
                feed.add(GYM_LOGINS, row, feed.late())
            elif "relogout_reverse_order" in visit.tags:  # the smaller logout is written after the larger one
                feed.add(GYM_LOGINS, row, arrival + 120_000)
            else:
                feed.add(GYM_LOGINS, row)


def _workout_events(feed: _Feed, workout: Workout) -> None:
    def event(action: str, time: int) -> WorkoutEvent:
        return WorkoutEvent(workout.user_id, workout.workout_id, time, action, workout.session_id)

    start_arrival = None
    if workout.end is not None:
        stop_arrival = feed.late() if "stop_in_next_set" in workout.tags else None
        stop_arrival = feed.add(KAFKA_MULTIPLEX, event(STOP, workout.end), stop_arrival)
        if "stop_before_start" in workout.tags:  # the start was held back and is sent after the stop
            start_arrival = stop_arrival + 1000
    start_arrival = feed.add(KAFKA_MULTIPLEX, event(START, workout.start), start_arrival)
    if "duplicate_start_event" in workout.tags:
        feed.add(KAFKA_MULTIPLEX, event(START, workout.start), start_arrival + 1500)


def _readings(feed: _Feed, workout: Workout) -> None:
    """Readings every interval from a little before the start to a little after the end.

    The ``exactly_65_min`` workout also gets two invalid readings (0 and -1), an exact duplicate in the same
    file and one in set 2; the ``late_readings`` workout's last readings arrive in set 2.
    """
    rng, interval = feed.rng, feed.spec.bpm_interval_seconds
    device_id = next(u.device_id for u in feed.world.users if u.user_id == workout.user_id)
    base = next(u.base_bpm for u in feed.world.users if u.user_id == workout.user_id)
    peak = rng.uniform(35, 70)
    end = workout.end if workout.end is not None else workout.start + NO_STOP_READING_MINUTES * 60
    readings = []
    time = workout.start - READINGS_AROUND_WORKOUT * interval
    while time <= end + READINGS_AROUND_WORKOUT * interval:
        effort = peak * min(1.0, (time - workout.start) / 300) if workout.start < time <= end else 0.0
        readings.append(Reading(device_id, time, quarter(base + effort + rng.uniform(-4, 4))))
        time += interval
    if "exactly_65_min" in workout.tags:
        inside = [i for i, r in enumerate(readings) if r.time > workout.start]
        readings[inside[2]] = Reading(device_id, readings[inside[2]].time, 0.0)
        readings[inside[4]] = Reading(device_id, readings[inside[4]].time, -1.0)
        feed.add(KAFKA_MULTIPLEX, readings[inside[6]], feed.late())
        feed.add(KAFKA_MULTIPLEX, readings[inside[1]], readings[inside[1]].time * 1000 + 2500)
    late_from = len(readings)
    if "late_readings" in workout.tags:
        last_inside = max(i for i, r in enumerate(readings) if r.time <= end)
        late_from = last_inside + 1 - LATE_READINGS
    for index, reading in enumerate(readings):
        feed.add(KAFKA_MULTIPLEX, reading, feed.late() if late_from <= index < late_from + LATE_READINGS else None)


def _malformed(feed: _Feed) -> None:
    spec, world = feed.spec, feed.world
    stray_device, _ = world.extra_devices[1]
    for step in range(3):  # a device nobody registered
        feed.add(KAFKA_MULTIPLEX, Reading(stray_device, spec.day_start(0) + 12 * 3600 + step * 60, 70.0 + step))
    record = {"key": str(stray_device), "value": json.dumps({"device_id": stray_device, "time": 1})}
    text = json.dumps(record, separators=(",", ":"))
    feed.add(KAFKA_MULTIPLEX, BadLine(text[: len(text) // 2], "truncated JSON line"), feed.at(0, 11))
    user = world.users[-1]
    value = f"{{'user_id': {user.user_id}, 'update_type': 'update'}}"
    feed.add(
        KAFKA_MULTIPLEX, BadPayload(TOPIC_USER_INFO, str(user.user_id), value, "value is not JSON"), feed.at(0, 13)
    )
    second_set = spec.set2_first_day
    text = "{'key': 'connector', 'value': 'restart'}"
    feed.add(KAFKA_MULTIPLEX, BadLine(text, "line is not JSON"), feed.at(second_set, 2))
    device_id = world.users[-1].device_id
    value = json.dumps({"time": spec.day_start(second_set) + 10 * 3600, "heartrate": 88.5}, separators=(",", ":"))
    feed.add(
        KAFKA_MULTIPLEX, BadPayload(TOPIC_BPM, str(device_id), value, "bpm without device_id"), feed.at(second_set, 10)
    )
    visit = world.visit("no_workout")
    text = f"{visit.mac_address},{visit.gym},{visit.login}"
    feed.add(GYM_LOGINS, BadLine(text, "3 columns instead of 4"), visit.login * 1000 + 1000)


def _date_rows(feed: _Feed) -> None:
    times = [t for item in feed.items for t in event_times(item.record)]
    first = datetime.fromtimestamp(min(times), timezone.utc).date() - timedelta(days=DATE_MARGIN_DAYS)
    last = datetime.fromtimestamp(max(times), timezone.utc).date() + timedelta(days=DATE_MARGIN_DAYS)
    for offset in range((last - first).days + 1):
        feed.add(DATE_LOOKUP, DateRow(first + timedelta(days=offset)), arrival_ms=0, set_no=1)


def _arrange(feed: _Feed) -> tuple[Landed, ...]:
    """Sets from arrival times, files per arrival date, Kafka partitions and offsets in arrival order."""
    cutoff = feed.spec.cutoff_ms

    def set_of(item: _Pending) -> int:
        return item.set_no or (1 if item.arrival_ms < cutoff else 2)

    order = sorted(
        range(len(feed.items)),
        key=lambda i: (set_of(feed.items[i]), SOURCES.index(feed.items[i].source), feed.items[i].arrival_ms, i),
    )
    files: dict[tuple[int, str], list[int]] = {}
    offsets: dict[tuple[str, int], int] = {}
    landed = []
    for index in order:
        item = feed.items[index]
        set_no = set_of(item)
        day = item.arrival_ms // 86_400_000
        days = files.setdefault((set_no, item.source), [])
        if not days or days[-1] != day:
            days.append(day)
        # The set number is in the name: sets land in the same folders, and a stream ingests a path once.
        file = f"{item.source}/set{set_no}-part-{len(days) - 1:05d}.{EXTENSIONS[item.source]}"
        result = Landed(set_no, item.source, file, item.arrival_ms, item.record)
        topic = result.topic
        if topic is not None:
            partition = int(kafka_key(item.record)) % PARTITIONS
            offset = offsets.get((topic, partition), 0)
            offsets[(topic, partition)] = offset + 1
            result = Landed(set_no, item.source, file, item.arrival_ms, item.record, partition, offset)
        landed.append(result)
    return tuple(landed)
