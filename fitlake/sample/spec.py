"""What the generator is asked for: ``SampleSpec``, and the time frame it implies.

All times are UTC; event times are integer epoch seconds, arrival times epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from fitlake.errors import ConfigError

SETS = (1, 2)
"""The feed arrives in two sets: set 1, then set 2 (late data, the last days, a few new users)."""


def set_folder(sets_dir: Path | str, set_no: int | str) -> Path:
    """The folder of set ``set_no`` among generated sets (``set<N>/``, one subfolder per source)."""
    return Path(sets_dir) / f"set{set_no}"


def manifest_path(sets_dir: Path | str, set_no: int | str) -> Path:
    """The manifest of what the tables hold after sets 1..``set_no`` (``manifest_set<N>.json``)."""
    return Path(sets_dir) / f"manifest_set{set_no}.json"


def expected_folder(sets_dir: Path | str, set_no: int | str) -> Path:
    """Where every table's rows expected after sets 1..``set_no`` lie, beside the manifest (``expected_set<N>/``)."""
    return Path(sets_dir) / f"expected_set{set_no}"


MIN_USERS = 12
"""Every scenario is played by a user of its own, so the world needs at least this many."""

MIN_DAYS = 2
MAX_BPM_INTERVAL_SECONDS = 300

DAY_SECONDS = 86_400

EARLIEST_DATE = date(1980, 1, 1)
LATEST_DATE = date(4999, 12, 31)
"""Every date of a sample lies in this range. The pipeline reads an epoch time below 1e11 as seconds
(``fitlake.contract.EPOCH_SECONDS_BELOW``, the year 5138) and above it as milliseconds, so a sample
before 1973 (where milliseconds are below 1e11) or after 5138 would be read wrongly; Python's dates end in
9999. The range stays well inside."""

FRAME_MARGIN_DAYS = 10
"""Days of a sample outside ``start_date`` .. ``start_date + days``: registrations up to 3 days before the
first day, and the calendar's 7-day margin (``fitlake.sample.feed.DATE_MARGIN_DAYS``) on each side."""


@dataclass(frozen=True)
class SampleSpec:
    """What to generate. Same spec (seed included) means byte-identical output.

    Attributes:
        users: how many users (at least ``MIN_USERS``).
        days: how many days of activity from ``start_date`` (at least ``MIN_DAYS``); set 1 carries the
            first ``ceil(days / 2)`` days, set 2 the rest plus everything that arrives late.
        seed: the random seed.
        start_date: the first day of activity, ``yyyy-MM-dd`` (UTC).
        bpm_interval_seconds: one heart-rate reading per device every so many seconds during a workout.
        age_as_of: the date on which ages (and so age bins) are computed for the manifest.
        max_workout_hours: a workout this long or longer is not a completed workout.
    """

    users: int = 12
    days: int = 3
    seed: int = 7
    start_date: str = "2023-03-06"
    bpm_interval_seconds: int = 30
    age_as_of: str = "2026-01-01"
    max_workout_hours: int = 3

    def __post_init__(self) -> None:
        if self.users < MIN_USERS:
            raise ConfigError(f"users={self.users}: the sample needs at least {MIN_USERS} users (one per scenario).")
        if self.days < MIN_DAYS:
            raise ConfigError(f"days={self.days}: the sample needs at least {MIN_DAYS} days (one per set).")
        if not 1 <= self.bpm_interval_seconds <= MAX_BPM_INTERVAL_SECONDS:
            raise ConfigError(
                f"bpm_interval_seconds={self.bpm_interval_seconds}: give 1 to {MAX_BPM_INTERVAL_SECONDS} (the "
                "scenarios need several readings in a 20-minute workout)."
            )
        if self.max_workout_hours < 2:
            raise ConfigError(
                f"max_workout_hours={self.max_workout_hours}: give at least 2 (the sample's 65-minute workout "
                "must count as completed)."
            )
        for name in ("start_date", "age_as_of"):
            try:
                day = date.fromisoformat(getattr(self, name))
            except ValueError:
                raise ConfigError(f"{name}={getattr(self, name)!r}: give a date as yyyy-MM-dd.") from None
            if not EARLIEST_DATE <= day <= LATEST_DATE:
                option = " (--start-date)" if name == "start_date" else ""
                raise ConfigError(f"{name}={day}{option}: {self._date_range()}.")
        self._check_frame()

    def _check_frame(self) -> None:
        """The first and last day of the sample, margins included, within the dates the pipeline reads."""
        # Ordinals, not date arithmetic: a date past 9999-12-31 is an OverflowError, not an answer.
        first = date.fromisoformat(self.start_date).toordinal() - FRAME_MARGIN_DAYS
        last = date.fromisoformat(self.start_date).toordinal() + self.days + FRAME_MARGIN_DAYS
        if first < EARLIEST_DATE.toordinal() or last > LATEST_DATE.toordinal():
            raise ConfigError(
                f"start_date={self.start_date} (--start-date) with days={self.days} (--days): {self._date_range()}, "
                f"{FRAME_MARGIN_DAYS} days of margin included. Give an earlier start date or fewer days."
            )

    @staticmethod
    def _date_range() -> str:
        return f"the sample's dates must lie from {EARLIEST_DATE} to {LATEST_DATE} (epoch times the pipeline reads)"

    @property
    def first_day(self) -> date:
        return date.fromisoformat(self.start_date)

    @property
    def as_of(self) -> date:
        return date.fromisoformat(self.age_as_of)

    @property
    def set2_first_day(self) -> int:
        """The index (0-based, from ``start_date``) of the first day whose data arrives in set 2."""
        return (self.days + 1) // 2

    @property
    def max_workout_seconds(self) -> int:
        return self.max_workout_hours * 3600

    def day_start(self, day: int) -> int:
        """Epoch seconds of midnight UTC of day ``day`` (0 = ``start_date``; negative days lie before it)."""
        midnight = datetime.combine(self.first_day, datetime.min.time(), tzinfo=timezone.utc)
        return int((midnight + timedelta(days=day)).timestamp())

    @property
    def cutoff_ms(self) -> int:
        """Arrival time (epoch ms) from which records land in set 2."""
        return self.day_start(self.set2_first_day) * 1000
