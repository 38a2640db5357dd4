"""Every silver and gold table's full expected rows after a set, from the generator's ground truth.

Written beside the manifest, one file per table: ``expected_set<N>/<schema>.<table>.jsonl``. The first line
is a JSON array of the column names, then one JSON array per row, sorted by that text, so a file is compact,
byte-identical for the same spec and readable in a diff. Timestamps are UTC ``yyyy-MM-dd HH:mm:ss`` text and
dates ``yyyy-MM-dd``; a reader casts them to the table's column types (``fitlake.sample.expectations``).

A file holds the columns that are a function of the data. Left out: ``silver.quarantine``'s ``load_time``
(when a run loaded the row) and ``reason`` (the pipeline's wording: the generator knows why a payload is bad,
``BadPayload.reason``, but words it its own way). Bronze tables are only counted (in the manifest): their
load_time and source_file columns say when and from which file a row came, not what it holds.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fitlake.sample.expected import Expected, expected_state
from fitlake.sample.landing import calendar_row
from fitlake.sample.model import TOPIC_BPM, TOPIC_USER_INFO, TOPIC_WORKOUT, BadPayload, Sample

COMPACT = (",", ":")
QUARANTINE_SOURCE = {TOPIC_USER_INFO: "user_profile", TOPIC_BPM: "heart_rate", TOPIC_WORKOUT: "workouts"}
"""The silver table whose flow quarantines a bad payload of each topic (``silver.quarantine.source``)."""
WORKOUT_KEY = ("user_id", "workout_id", "session_id")


@dataclass(frozen=True)
class ExpectedTable:
    """A table's expected rows (each a tuple of JSON values, in ``columns`` order)."""

    columns: tuple[str, ...]
    rows: tuple[tuple, ...]

    def without(self, column: str) -> ExpectedTable:
        """The same rows with ``column`` left out (where a value is not known in advance)."""
        keep = [i for i, name in enumerate(self.columns) if name != column]
        return ExpectedTable(tuple(self.columns[i] for i in keep), tuple(tuple(r[i] for i in keep) for r in self.rows))


def utc_text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def utc_date(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).date().isoformat()


def expected_tables(sample: Sample, upto_set: int) -> dict[str, ExpectedTable]:
    """Every silver table and gold table or view after sets 1..``upto_set``, by ``<schema>.<table>``."""
    state = expected_state(sample, upto_set)
    bad = [item for item in sample.landed(upto_set) if isinstance(item.record, BadPayload)]
    tables = {
        **_entities(state),
        **_workout_tables(state),
        "silver.quarantine": (
            ("source", "raw", "topic", "partition", "offset"),
            [(QUARANTINE_SOURCE[i.topic], i.record.value, i.topic, i.partition, i.offset) for i in bad],
        ),
        **_gold(state),
    }
    return {name: ExpectedTable(columns, _sorted(rows)) for name, (columns, rows) in tables.items()}


def _sorted(rows: list[tuple]) -> tuple[tuple, ...]:
    return tuple(sorted(rows, key=_line))


def _line(row: tuple) -> str:
    return json.dumps(list(row), separators=COMPACT)


def _entities(state: Expected) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """The silver tables read straight from bronze, and the calendar."""
    profiles = [(user_id, event.timestamp, event.profile) for user_id, event in state.profiles.items()]
    calendar = [calendar_row(row) for row in state.dates]
    return {
        "silver.users": (
            ("user_id", "device_id", "mac_address", "registration_timestamp"),
            [(r.user_id, r.device_id, r.mac_address, utc_text(r.timestamp)) for r in state.users.values()],
        ),
        "silver.gym_logs": (
            ("mac_address", "gym", "login", "logout"),
            [(mac, gym, utc_text(login), utc_text(logout)) for (mac, gym, login), logout in state.gym_logs.items()],
        ),
        "silver.user_profile": (
            ("user_id", "dob", "sex", "gender", "first_name", "last_name", "street_address", "city", "state", "zip")
            + ("updated",),
            [
                (user_id, p.dob.isoformat(), p.sex, p.gender, p.first_name, p.last_name, p.address.street_address)
                + (p.address.city, p.address.state, str(p.address.zip), utc_text(updated))
                for user_id, updated, p in profiles
            ],
        ),
        "silver.user_deletes": (
            ("user_id", "deleted"),
            [(user_id, utc_text(deleted)) for user_id, deleted in state.deletes.items()],
        ),
        "silver.heart_rate": (
            ("device_id", "time", "heartrate", "valid"),
            [(device, utc_text(time), bpm, bpm > 0) for (device, time), bpm in state.heart_rate.items()],
        ),
        "silver.workouts": (
            ("user_id", "workout_id", "time", "action", "session_id"),
            [(e.user_id, e.workout_id, utc_text(e.timestamp), e.action, e.session_id) for e in state.workouts.values()],
        ),
        "silver.date_lookup": (tuple(calendar[0]) if calendar else ("date",), [tuple(r.values()) for r in calendar]),
    }


def _workout_tables(state: Expected) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    completed = {key: (utc_text(start), utc_text(end)) for key, (start, end) in state.completed.items()}
    return {
        "silver.completed_workouts": (
            (*WORKOUT_KEY, "start_time", "end_time"),
            [(*key, *span) for key, span in completed.items()],
        ),
        "silver.workout_bpm": (
            (*WORKOUT_KEY, "start_time", "end_time", "time", "heartrate"),
            [
                (*key, *completed[key], utc_text(time), bpm)
                for key, readings in state.workout_bpm.items()
                for time, bpm in readings
            ],
        ),
        "silver.user_bins": (
            ("user_id", "age", "gender", "city", "state"),
            [
                (user_id, state.age_bins[user_id], e.profile.gender, e.profile.address.city, e.profile.address.state)
                for user_id, e in state.profiles.items()
            ],
        ),
    }


def _gold(state: Expected) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    summaries = []
    for (user_id, workout_id, session_id), s in state.bpm_summary.items():
        profile = state.profiles[user_id].profile
        bins = (state.age_bins[user_id], profile.gender, profile.address.city, profile.address.state)
        summaries.append((workout_id, session_id, user_id, *bins, s.min_bpm, s.avg_bpm, s.max_bpm, s.num_recordings))
    visits = [
        (utc_date(v.login), v.gym, v.mac_address, workout_id, session_id, v.minutes_in_gym, v.minutes_exercising)
        for (_user, workout_id, session_id), rows in state.gym_summary.items()
        for v in rows
    ]
    return {
        "gold.workout_bpm_summary": (
            ("workout_id", "session_id", "user_id", "age", "gender", "city", "state")
            + ("min_bpm", "avg_bpm", "max_bpm", "num_recordings"),
            summaries,
        ),
        "gold.gym_summary": (
            ("date", "gym", "mac_address", "workout_id", "session_id", "minutes_in_gym", "minutes_exercising"),
            visits,
        ),
    }


def write_expected(tables: dict[str, ExpectedTable], folder: Path) -> None:
    """Write each table as ``folder/<schema>.<table>.jsonl``; an earlier run's folder is replaced whole."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, table in tables.items():
        lines = [_line(table.columns), *(_line(row) for row in table.rows)]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")


def read_expected(folder: Path) -> dict[str, ExpectedTable]:
    """The tables ``write_expected`` wrote, by name, in name order."""
    tables = {}
    for path in sorted(Path(folder).glob("*.jsonl")):
        header, *rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
        tables[path.stem] = ExpectedTable(tuple(header), tuple(tuple(row) for row in rows))
    return tables
