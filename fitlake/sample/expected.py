"""The expected state after each set: the pipeline's rules applied to the feed's own records.

Nothing here reads a landed file: ``expected_state`` walks the ground-truth records (``Sample.feed``) that
landed up to a set. Rules where the pipeline's definition leaves a choice:

- users: the earliest ``registration_timestamp`` wins; equal timestamps: the first to land.
- gym_logs: the greatest logout wins (not the last to land).
- user_profile: the new/update with the greatest timestamp is the profile; a delete with a timestamp greater
  than or equal to it removes the user, whatever order they land in.
- completed_workouts: ``start_time < end_time < start_time + max_workout_hours``, both bounds strict.
- workout_bpm: readings with ``start_time < time <= end_time`` and ``heartrate > 0``.
- age bins (user_bins.age): whole years on ``age_as_of`` (a birthday on that date counts); lower bounds
  inclusive: 17 is "under 18", 18 is "18-25", 25 is "25-35", 95 is "95+".
- minutes: ``round(seconds / 60, 2)`` rounding half up (with whole seconds a tie cannot occur).
- avg_bpm: the exact mean ``math.fsum(readings) / n``; heart rates are multiples of 0.25, so any summation
  order gives this same double, but the manifest still allows a tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from fitlake.sample.model import (
    DELETE,
    GYM_LOGINS,
    KAFKA_MULTIPLEX,
    REGISTERED_USERS,
    START,
    STOP,
    BadLine,
    BadPayload,
    DateRow,
    GymRow,
    ProfileEvent,
    Reading,
    Registration,
    Sample,
    WorkoutEvent,
)
from fitlake.sample.people import age_on

AGE_BINS = (
    (18, "under 18"),
    (25, "18-25"),
    (35, "25-35"),
    (45, "35-45"),
    (55, "45-55"),
    (65, "55-65"),
    (75, "65-75"),
    (85, "75-85"),
    (95, "85-95"),
)
"""(exclusive upper bound, label); ages of 95 and over: ``OLDEST_BIN``."""
OLDEST_BIN = "95+"

TABLES = (
    "bronze.registered_users_bz",
    "bronze.gym_logins_bz",
    "bronze.kafka_multiplex_bz",
    "bronze.quarantine",
    "silver.quarantine",
    "silver.users",
    "silver.gym_logs",
    "silver.user_profile",
    "silver.heart_rate",
    "silver.workouts",
    "silver.completed_workouts",
    "silver.workout_bpm",
    "silver.user_bins",
    "silver.date_lookup",
    "gold.workout_bpm_summary",
    "gold.gym_summary",
)
WorkoutKey = tuple[int, int, int]


@dataclass(frozen=True)
class BpmSummary:
    min_bpm: float
    avg_bpm: float
    max_bpm: float
    num_recordings: int


@dataclass(frozen=True)
class GymSummary:
    mac_address: str
    gym: int
    login: int
    logout: int
    minutes_in_gym: float
    minutes_exercising: float


@dataclass
class Expected:
    """What the pipeline's tables hold after a set (keys as in the rules; times in epoch seconds)."""

    bronze: dict[str, int] = field(default_factory=dict)
    users: dict[int, Registration] = field(default_factory=dict)
    gym_logs: dict[tuple[str, int, int], int] = field(default_factory=dict)
    profiles: dict[int, ProfileEvent] = field(default_factory=dict)
    deletes: dict[int, int] = field(default_factory=dict)
    heart_rate: dict[tuple[int, int], float] = field(default_factory=dict)
    workouts: dict[tuple[int, int], WorkoutEvent] = field(default_factory=dict)
    completed: dict[WorkoutKey, tuple[int, int]] = field(default_factory=dict)
    workout_bpm: dict[WorkoutKey, list[tuple[int, float]]] = field(default_factory=dict)
    """Per completed workout: its readings as (time, heartrate), in time order."""
    age_bins: dict[int, str] = field(default_factory=dict)
    dates: list[DateRow] = field(default_factory=list)
    bpm_summary: dict[WorkoutKey, BpmSummary] = field(default_factory=dict)
    gym_summary: dict[WorkoutKey, list[GymSummary]] = field(default_factory=dict)

    def table_counts(self) -> dict[str, int]:
        counts = {
            **self.bronze,
            "silver.users": len(self.users),
            "silver.gym_logs": len(self.gym_logs),
            "silver.user_profile": len(self.profiles),
            "silver.heart_rate": len(self.heart_rate),
            "silver.workouts": len(self.workouts),
            "silver.completed_workouts": len(self.completed),
            "silver.workout_bpm": sum(len(r) for r in self.workout_bpm.values()),
            "silver.user_bins": len(self.age_bins),
            "silver.date_lookup": len(self.dates),
            "gold.workout_bpm_summary": len(self.bpm_summary),
            "gold.gym_summary": sum(len(rows) for rows in self.gym_summary.values()),
        }
        return {table: counts[table] for table in TABLES}


def age_bin(age: int) -> str:
    return next((label for upper, label in AGE_BINS if age < upper), OLDEST_BIN)


def minutes(seconds: int) -> float:
    return float((Decimal(seconds) / Decimal(60)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def expected_state(sample: Sample, upto_set: int) -> Expected:
    spec = sample.world.spec
    landed = sample.landed(upto_set)
    state = Expected()
    state.bronze = {
        "bronze.registered_users_bz": _well_formed(landed, REGISTERED_USERS),
        "bronze.gym_logins_bz": _well_formed(landed, GYM_LOGINS),
        "bronze.kafka_multiplex_bz": _well_formed(landed, KAFKA_MULTIPLEX),
        "bronze.quarantine": sum(isinstance(i.record, BadLine) for i in landed),
        "silver.quarantine": sum(isinstance(i.record, BadPayload) for i in landed),
    }
    records = [item.record for item in landed]
    for record in records:
        if isinstance(record, Registration):
            known = state.users.get(record.user_id)
            if known is None or record.timestamp < known.timestamp:
                state.users[record.user_id] = record
        elif isinstance(record, GymRow):
            key = (record.mac_address, record.gym, record.login)
            state.gym_logs[key] = max(record.logout, state.gym_logs.get(key, record.logout))
        elif isinstance(record, Reading):
            state.heart_rate.setdefault((record.device_id, record.time), record.heartrate)
        elif isinstance(record, WorkoutEvent):
            state.workouts.setdefault((record.user_id, record.timestamp), record)
    events = [r for r in records if isinstance(r, ProfileEvent)]
    state.profiles, state.deletes = _profiles(events), _deletes(events)
    state.completed = _completed(list(state.workouts.values()), spec.max_workout_seconds)
    state.workout_bpm = _workout_bpm(state)
    state.age_bins = {user_id: age_bin(age_on(e.profile.dob, spec.as_of)) for user_id, e in state.profiles.items()}
    state.dates = [r for r in records if isinstance(r, DateRow)]
    state.bpm_summary = {
        key: _bpm_summary([heartrate for _time, heartrate in readings])
        for key, readings in state.workout_bpm.items()
        if readings and key[0] in state.age_bins
    }
    state.gym_summary = _gym_summary(state)
    return state


def _well_formed(landed: list, source: str) -> int:
    return sum(1 for item in landed if item.source == source and not isinstance(item.record, BadLine))


def _bpm_summary(bpm: list[float]) -> BpmSummary:
    return BpmSummary(min(bpm), math.fsum(bpm) / len(bpm), max(bpm), len(bpm))


def _deletes(events: list[ProfileEvent]) -> dict[int, int]:
    """The tombstones: the latest delete per user."""
    deleted_at: dict[int, int] = {}
    for event in events:
        if event.update_type == DELETE:
            deleted_at[event.user_id] = max(event.timestamp, deleted_at.get(event.user_id, event.timestamp))
    return dict(sorted(deleted_at.items()))


def _profiles(events: list[ProfileEvent]) -> dict[int, ProfileEvent]:
    latest: dict[int, ProfileEvent] = {}
    deleted_at = _deletes(events)
    for event in events:
        if event.update_type != DELETE and (
            event.user_id not in latest or event.timestamp > latest[event.user_id].timestamp
        ):
            latest[event.user_id] = event
    return {
        user_id: event
        for user_id, event in sorted(latest.items())
        if user_id not in deleted_at or event.timestamp > deleted_at[user_id]
    }


def _completed(events: list[WorkoutEvent], max_seconds: int) -> dict[WorkoutKey, tuple[int, int]]:
    starts: dict[WorkoutKey, int] = {}
    stops: dict[WorkoutKey, int] = {}
    for event in events:
        key = (event.user_id, event.workout_id, event.session_id)
        if event.action == START:
            starts[key] = min(event.timestamp, starts.get(key, event.timestamp))
        elif event.action == STOP:
            stops[key] = max(event.timestamp, stops.get(key, event.timestamp))
    return {
        key: (start, stops[key])
        for key, start in sorted(starts.items())
        if key in stops and start < stops[key] < start + max_seconds
    }


def _workout_bpm(state: Expected) -> dict[WorkoutKey, list[tuple[int, float]]]:
    by_device: dict[int, list[tuple[int, float]]] = {}
    for (device_id, time), heartrate in sorted(state.heart_rate.items()):
        if heartrate > 0:
            by_device.setdefault(device_id, []).append((time, heartrate))
    result = {}
    for key, (start, end) in state.completed.items():
        user = state.users.get(key[0])
        readings = by_device.get(user.device_id, []) if user else []
        result[key] = [(time, heartrate) for time, heartrate in readings if start < time <= end]
    return result


def _gym_summary(state: Expected) -> dict[WorkoutKey, list[GymSummary]]:
    result: dict[WorkoutKey, list[GymSummary]] = {}
    for key, (start, end) in state.completed.items():
        user = state.users.get(key[0])
        if user is None:
            continue
        for (mac, gym, login), logout in sorted(state.gym_logs.items()):
            if mac == user.mac_address and login <= start <= logout:
                row = GymSummary(mac, gym, login, logout, minutes(logout - login), minutes(end - start))
                result.setdefault(key, []).append(row)
    return result
