"""The generator's ground truth: the simulated world and every record exactly as it lands.

Two layers, so tests can recount one from the other:

- the **world**: users, workouts and gym visits as they really happened, each tagged with the scenario it
  plays (``World.roles`` names the users that play a scenario, ``tags`` name the workouts and visits);
- the **feed**: every line or row as it lands (``Landed``): which set, which file, in which order, with
  duplicates, late arrivals and malformed lines. The files are a rendering of the feed and the manifests
  are computed from it, never from the files.

All times are integer epoch seconds UTC (arrival times: epoch milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fitlake import contract
from fitlake.sample.spec import SampleSpec

# Landing sources: the folder names under set<N>/ (the landing contract's).
REGISTERED_USERS = contract.REGISTERED_USERS.name
GYM_LOGINS = contract.GYM_LOGINS.name
KAFKA_MULTIPLEX = contract.KAFKA_MULTIPLEX.name
DATE_LOOKUP = contract.DATE_LOOKUP.name

# Kafka topics and payload vocabularies.
TOPIC_USER_INFO, TOPIC_BPM, TOPIC_WORKOUT = contract.USER_INFO, contract.BPM, contract.WORKOUT
NEW, UPDATE, DELETE = "new", "update", "delete"
START, STOP = "start", "stop"

# The records of the feed: one per landed line or row.


@dataclass(frozen=True)
class Registration:
    user_id: int
    device_id: int
    mac_address: str
    timestamp: int


@dataclass(frozen=True)
class GymRow:
    mac_address: str
    gym: int
    login: int
    logout: int


@dataclass(frozen=True)
class Address:
    street_address: str
    city: str
    state: str
    zip: int


@dataclass(frozen=True)
class Profile:
    dob: date
    sex: str
    gender: str
    first_name: str
    last_name: str
    address: Address


@dataclass(frozen=True)
class ProfileEvent:
    user_id: int
    update_type: str
    timestamp: int
    profile: Profile


@dataclass(frozen=True)
class Reading:
    device_id: int
    time: int
    heartrate: float


@dataclass(frozen=True)
class WorkoutEvent:
    user_id: int
    workout_id: int
    timestamp: int
    action: str
    session_id: int


@dataclass(frozen=True)
class DateRow:
    date: date


@dataclass(frozen=True)
class BadLine:
    """A line or row that bronze cannot read: not JSON, not a Kafka record, wrong columns, bad number."""

    text: str
    reason: str


@dataclass(frozen=True)
class BadPayload:
    """A well-formed Kafka record whose ``value`` silver cannot use (not JSON, a key field missing)."""

    topic: str
    key: str
    value: str
    reason: str


Record = Registration | GymRow | ProfileEvent | Reading | WorkoutEvent | DateRow | BadLine | BadPayload


@dataclass(frozen=True)
class Landed:
    """One line (or CSV row) as it lands.

    Attributes:
        set_no: the set it lands in (1 or 2).
        source: the landing folder (``registered_users``, ``gym_logins``, ``kafka_multiplex``, ``date_lookup``).
        file: its file, relative to the set folder; lines of a file are in feed order.
        arrival_ms: when it arrived (epoch ms); Kafka's record timestamp.
        record: what it carries.
        partition: the Kafka partition (Kafka records only).
        offset: the Kafka offset, increasing per topic and partition (Kafka records only).
    """

    set_no: int
    source: str
    file: str
    arrival_ms: int
    record: Record
    partition: int = 0
    offset: int = 0

    @property
    def topic(self) -> str | None:
        record = self.record
        if isinstance(record, BadPayload):
            return record.topic
        return {ProfileEvent: TOPIC_USER_INFO, Reading: TOPIC_BPM, WorkoutEvent: TOPIC_WORKOUT}.get(type(record))


# The world: what really happened.


@dataclass(frozen=True)
class User:
    user_id: int
    device_id: int
    mac_address: str
    registered_at: int
    base_bpm: float


@dataclass(frozen=True)
class Workout:
    """A workout as it happened; ``end`` is None when the user never pressed stop."""

    user_id: int
    workout_id: int
    session_id: int
    start: int
    end: int | None
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.user_id, self.workout_id, self.session_id)


@dataclass(frozen=True)
class Visit:
    """A gym visit; ``logouts`` lists every logout written for it, in the order the rows are written."""

    mac_address: str
    gym: int
    login: int
    logouts: tuple[int, ...]
    tags: tuple[str, ...] = ()

    @property
    def logout(self) -> int:
        return max(self.logouts)


@dataclass
class World:
    spec: SampleSpec
    users: list[User] = field(default_factory=list)
    workouts: list[Workout] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    roles: dict[str, int] = field(default_factory=dict)
    """Scenario name -> the user_id that plays it."""
    extra_devices: list[tuple[int, str]] = field(default_factory=list)
    """(device_id, mac_address) pairs nobody registered first: [0] a re-registration's new device,
    [1] a stray device that sends readings but belongs to no user."""

    def user(self, role: str) -> User:
        user_id = self.roles[role]
        return next(u for u in self.users if u.user_id == user_id)

    def workout(self, tag: str) -> Workout:
        return next(w for w in self.workouts if tag in w.tags)

    def visit(self, tag: str) -> Visit:
        return next(v for v in self.visits if tag in v.tags)


@dataclass(frozen=True)
class Sample:
    world: World
    feed: tuple[Landed, ...]

    def landed(self, upto_set: int) -> list[Landed]:
        """The feed as it stands after sets 1..``upto_set`` have landed."""
        return [item for item in self.feed if item.set_no <= upto_set]
