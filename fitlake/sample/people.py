"""Who the users are: names, birth dates, addresses, and the profile history each sends on ``user_info``.

A profile history is the list of ``ProfileEvent`` a user sends (``new``, ``update``s, maybe a ``delete``),
each with when it arrives; the role a user plays decides the out-of-order and tombstone cases.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from fitlake.sample.model import DELETE, NEW, UPDATE, Address, Profile, ProfileEvent, User, World

FIRST_NAMES = ("Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kira", "Luis")
LAST_NAMES = ("Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen")
STREETS = ("Main St", "Oak Ave", "Lake Rd", "Pine St", "Elm Dr", "River Blvd", "Hill Ct", "Park Ln")
CITIES = (
    ("Minneapolis", "MN"),
    ("Saint Paul", "MN"),
    ("Duluth", "MN"),
    ("Madison", "WI"),
    ("Milwaukee", "WI"),
    ("Des Moines", "IA"),
    ("Fargo", "ND"),
    ("Sioux Falls", "SD"),
)
SEXES = ("F", "M")
GENDERS = ("F", "M", "NB")


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February that does not exist)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(dob: date, as_of: date) -> int:
    """Age in whole years on ``as_of``: a birthday on ``as_of`` itself counts."""
    return as_of.year - dob.year - ((as_of.month, as_of.day) < (dob.month, dob.day))


def date_of_birth(role: str | None, as_of: date, rng: random.Random) -> date:
    if role == "age_exactly_25":
        return years_before(as_of, 25)
    if role == "age_17":
        return years_before(as_of, 18) + timedelta(days=1)
    if role == "age_95_plus":
        return years_before(as_of, 96) - timedelta(days=rng.randrange(1, 365))
    return years_before(as_of, rng.randint(18, 80)) - timedelta(days=rng.randrange(1, 365))


def first_profile(role: str | None, as_of: date, rng: random.Random) -> Profile:
    return Profile(
        dob=date_of_birth(role, as_of, rng),
        sex=rng.choice(SEXES),
        gender=rng.choice(GENDERS),
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        address=_address(rng, exclude_city=None),
    )


def moved(profile: Profile, rng: random.Random) -> Profile:
    """The profile after a move to another city (an ``update``)."""
    return Profile(
        profile.dob,
        profile.sex,
        profile.gender,
        profile.first_name,
        profile.last_name,
        _address(rng, exclude_city=profile.address.city),
    )


def _address(rng: random.Random, exclude_city: str | None) -> Address:
    city, state = rng.choice([c for c in CITIES if c[0] != exclude_city])
    return Address(f"{rng.randint(1, 9999)} {rng.choice(STREETS)}", city, state, rng.randint(10_000, 99_999))


def profile_history(world: World, user: User, rng: random.Random, late_ms: int) -> list[tuple[ProfileEvent, int]]:
    """The ``user_info`` events of ``user``, each with its arrival time (epoch ms), in the order sent.

    ``late_ms`` is an arrival time in set 2, for the events the user's role delays.
    """
    spec = world.spec
    role = next((name for name, user_id in world.roles.items() if user_id == user.user_id), None)

    def at(day: int, hour: int) -> int:
        return spec.day_start(day) + hour * 3600 + rng.randrange(3600)

    def sent(update_type: str, timestamp: int, profile: Profile, arrival: int | None = None) -> tuple:
        arrival = timestamp * 1000 + rng.randint(0, 2000) if arrival is None else arrival
        return (ProfileEvent(user.user_id, update_type, timestamp, profile), arrival)

    profile = first_profile(role, spec.as_of, rng)
    events = [sent(NEW, user.registered_at + rng.randint(60, 3600), profile)]
    older = moved(profile, rng)
    if role in ("out_of_order_update_next_set", "out_of_order_update_same_set"):
        newer = sent(UPDATE, at(0, 14), moved(older, rng))
        # The older update arrives after the newer one: in set 2, or a minute later in the same file.
        older_arrival = late_ms if role == "out_of_order_update_next_set" else newer[1] + 60_000
        events += [sent(UPDATE, at(0, 10), older, older_arrival), newer]
    elif role == "deleted_with_stale_update":
        events.append(sent(UPDATE, at(0, 9), older))
        events.append(sent(DELETE, at(0, 18), older))
        events.append(sent(UPDATE, at(0, 12), moved(older, rng), late_ms))
    elif role == "deleted_in_next_set":
        events.append(sent(UPDATE, at(0, 9), older))
        events.append(sent(DELETE, at(spec.set2_first_day, 10), older))
    elif rng.random() < 0.5:
        first_day = spec.set2_first_day if user.registered_at >= spec.day_start(spec.set2_first_day) else 0
        events.append(sent(UPDATE, at(rng.randrange(first_day, spec.days), 11), older))
    return events
