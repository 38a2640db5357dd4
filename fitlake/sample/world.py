"""The simulated world: users, their workouts and gym visits, each scenario played by a user of its own.

The first ``len(ROLES)`` users (``MIN_USERS``) play the scenarios named in ``ROLES``, in that order; the
rest, and every day a scenario leaves free, get ordinary random workouts. How these facts arrive (late,
twice, out of order) is the feed's business (``fitlake.sample.feed``); the world records what happened.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fitlake.sample.model import User, Visit, Workout, World
from fitlake.sample.spec import DAY_SECONDS, SampleSpec

ROLES = (
    "exact_duplicate_registration",  # the same registration row lands again in set 2
    "re_registered_new_device",  # a later registration (set 2) with another device: the earliest counts
    "re_registered_same_device",  # a later registration of the same device, in set 1
    "out_of_order_update_next_set",  # an older update arrives in set 2, after the newer one
    "out_of_order_update_same_set",  # an older update arrives after the newer one, in set 1
    "deleted_with_stale_update",  # deleted in set 1; an update older than the delete arrives in set 2
    "deleted_in_next_set",  # in the profile after set 1, deleted in set 2
    "age_exactly_25",  # 25th birthday on the as-of date: bin 25-35
    "age_17",  # turns 18 the day after the as-of date: bin under 18
    "age_95_plus",
    "registers_in_next_set",
    "registers_in_next_set_too",
)
LATE_USERS = 2
"""The last two role users register (and are active) only in set 2."""

GYMS = (1, 2, 3)
NO_STOP_READING_MINUTES = 40
"""The device of a workout that is never stopped sends readings for this long."""


# Workout lengths besides a fixed number of seconds.
ORDINARY = "ordinary"  # 20 to 50 minutes
OVER_MAX = "over_max"  # the maximum plus OVER_MAX_EXTRA_SECONDS: not a completed workout
OPEN = "open"  # never stopped
OVER_MAX_EXTRA_SECONDS = 600

# Scenario days besides a day index.
LAST_SET1_DAY = "last_set1"
FIRST_SET2_DAY = "first_set2"


@dataclass(frozen=True)
class _Plan:
    """A scenario workout: its tag, who plays it, which day, whether at the gym (and its visit's tag), how long."""

    tag: str
    role: str
    day: int | str
    at_gym: bool
    length: int | str = ORDINARY
    visit_tag: str | None = None


_PLANS = (
    _Plan("exactly_65_min", "age_95_plus", 0, True, 65 * 60),
    _Plan("over_max_hours", "exact_duplicate_registration", LAST_SET1_DAY, False, OVER_MAX),
    _Plan("no_stop", "age_17", 0, False, OPEN),
    _Plan("stop_in_next_set", "out_of_order_update_next_set", LAST_SET1_DAY, False),
    _Plan("stop_before_start", "out_of_order_update_same_set", 0, False),
    _Plan("late_readings", "re_registered_same_device", LAST_SET1_DAY, False),
    _Plan("duplicate_start_event", "deleted_with_stale_update", 0, False),
    _Plan("starts_at_login", "age_exactly_25", 0, True, visit_tag="starts_at_login"),
    _Plan("in_relogout_next_set", "re_registered_new_device", LAST_SET1_DAY, True, visit_tag="relogout_next_set"),
    _Plan("in_relogout_same_set", "deleted_in_next_set", 0, True, visit_tag="relogout_same_set"),
    _Plan(
        "in_relogout_reverse_order",
        "registers_in_next_set_too",
        FIRST_SET2_DAY,
        True,
        visit_tag="relogout_reverse_order",
    ),
)
VISIT_WITHOUT_WORKOUT_ROLE = "registers_in_next_set"
AT_GYM = "gym"
"""A draft workout's tag for an ordinary workout inside a gym visit (not kept on the Workout)."""

_Draft = tuple[int, int, int | None, tuple[str, ...]]
"""A workout before it is numbered: (user_id, start, end, tags)."""


def build_world(spec: SampleSpec, rng: random.Random) -> World:
    world = World(spec=spec)
    world.users = _users(spec, rng)
    world.roles = {role: user.user_id for role, user in zip(ROLES, world.users, strict=False)}
    taken: set[tuple[int, int]] = set()
    drafts: list[_Draft] = []
    for plan in _PLANS:
        user_id = world.roles[plan.role]
        day = _plan_day(spec, plan.day)
        start = _start_time(spec, rng, day, early=plan.length == OVER_MAX)
        end = None if plan.length == OPEN else start + _length(spec, rng, plan.length)
        taken.add((user_id, day))
        drafts.append((user_id, start, end, (plan.tag,)))
        if plan.at_gym:
            world.visits.append(_visit(world, rng, user_id, start, end, plan))
    taken.add((world.roles[VISIT_WITHOUT_WORKOUT_ROLE], spec.set2_first_day))
    drafts += _ordinary_workouts(world, rng, taken)
    for user_id, start, end, tags in drafts:
        if AT_GYM in tags:
            world.visits.append(_visit(world, rng, user_id, start, end, None))
    world.visits.append(_visit_without_workout(world, rng))
    world.workouts = _numbered(drafts, rng)
    world.visits.sort(key=lambda v: (v.login, v.mac_address))
    world.extra_devices = _extra_devices(world, rng)
    return world


def late_user_ids(world: World) -> list[int]:
    return [user.user_id for user in world.users[len(ROLES) - LATE_USERS : len(ROLES)]]


def _users(spec: SampleSpec, rng: random.Random) -> list[User]:
    user_ids = rng.sample(range(10_000, 100_000), spec.users)
    device_ids = rng.sample(range(100_000, 1_000_000), spec.users)
    macs = _macs(rng, spec.users)
    users = []
    for index, (user_id, device_id, mac) in enumerate(zip(user_ids, device_ids, macs, strict=True)):
        late = len(ROLES) - LATE_USERS <= index < len(ROLES)
        if late:
            registered_at = spec.day_start(spec.set2_first_day) + 7 * 3600 + rng.randrange(3600)
        else:
            registered_at = spec.day_start(-3) + rng.randrange(3 * DAY_SECONDS - 3600)
        users.append(User(user_id, device_id, mac, registered_at, base_bpm=quarter(rng.uniform(58, 78))))
    return users


def _macs(rng: random.Random, count: int) -> list[str]:
    macs: list[str] = []
    while len(macs) < count:
        mac = "14:0a:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(4))
        if mac not in macs:
            macs.append(mac)
    return macs


def _extra_devices(world: World, rng: random.Random) -> list[tuple[int, str]]:
    """Two devices nobody registered first: the re-registration's new device and a stray device."""
    used_devices = {u.device_id for u in world.users}
    used_macs = {u.mac_address for u in world.users}
    extra: list[tuple[int, str]] = []
    while len(extra) < 2:
        device_id = rng.randrange(100_000, 1_000_000)
        mac = _macs(rng, 1)[0]
        if device_id not in used_devices and mac not in used_macs:
            used_devices.add(device_id)
            used_macs.add(mac)
            extra.append((device_id, mac))
    return extra


def _plan_day(spec: SampleSpec, day: int | str) -> int:
    return {LAST_SET1_DAY: spec.set2_first_day - 1, FIRST_SET2_DAY: spec.set2_first_day}.get(day, day)


def _start_time(spec: SampleSpec, rng: random.Random, day: int, early: bool = False) -> int:
    """A start between 09:00 and 19:00 (06:00-08:00 when ``early``), so every visit ends the same day."""
    first, last = (6, 8) if early else (9, 19)
    return spec.day_start(day) + rng.randint(first * 3600, last * 3600)


def _length(spec: SampleSpec, rng: random.Random, length: int | str) -> int:
    if length == OVER_MAX:
        return spec.max_workout_seconds + OVER_MAX_EXTRA_SECONDS
    return rng.randint(20 * 60, 50 * 60) if length == ORDINARY else int(length)


def _ordinary_workouts(world: World, rng: random.Random, taken: set[tuple[int, int]]) -> list[_Draft]:
    """On each free (user, day), half the time a 20-50 minute workout, half of those at the gym."""
    spec = world.spec
    late = set(late_user_ids(world))
    drafts = []
    for user in world.users:
        first_day = spec.set2_first_day if user.user_id in late else 0
        for day in range(first_day, spec.days):
            if (user.user_id, day) in taken or rng.random() >= 0.5:
                continue
            start = _start_time(spec, rng, day)
            tags = (AT_GYM,) if rng.random() < 0.5 else ()
            drafts.append((user.user_id, start, start + _length(spec, rng, ORDINARY), tags))
    return drafts


def _visit(world: World, rng: random.Random, user_id: int, start: int, end: int, plan: _Plan | None) -> Visit:
    mac = next(u.mac_address for u in world.users if u.user_id == user_id)
    gym = rng.choice(GYMS)
    visit_tag = plan.visit_tag if plan else None
    login = start if visit_tag == "starts_at_login" else start - rng.randint(5, 20) * 60
    first_logout = end + rng.randint(5, 20) * 60
    if visit_tag in ("relogout_next_set", "relogout_same_set"):
        logouts = (first_logout, first_logout + rng.randint(10, 40) * 60)
    elif visit_tag == "relogout_reverse_order":
        logouts = (first_logout + rng.randint(10, 40) * 60, first_logout)
    else:
        logouts = (first_logout,)
    return Visit(mac, gym, login, logouts, (visit_tag,) if visit_tag else ())


def _visit_without_workout(world: World, rng: random.Random) -> Visit:
    user = world.user(VISIT_WITHOUT_WORKOUT_ROLE)
    login = world.spec.day_start(world.spec.set2_first_day) + 17 * 3600 + rng.randrange(3600)
    return Visit(user.mac_address, rng.choice(GYMS), login, (login + rng.randint(30, 90) * 60,), ("no_workout",))


def _numbered(drafts: list[_Draft], rng: random.Random) -> list[Workout]:
    """Workout ids count each user's workouts from 1; session ids are unique and grow with start time."""
    drafts = sorted(drafts, key=lambda d: (d[1], d[0]))
    first_session = rng.randint(100_000, 800_000)
    per_user: dict[int, int] = {}
    workouts = []
    for session, (user_id, start, end, tags) in enumerate(drafts, start=first_session):
        per_user[user_id] = per_user.get(user_id, 0) + 1
        workouts.append(Workout(user_id, per_user[user_id], session, start, end, tuple(t for t in tags if t != AT_GYM)))
    return workouts


def quarter(value: float) -> float:
    """Round to a multiple of 0.25: such values add up exactly in binary floating point."""
    return round(value * 4) / 4
