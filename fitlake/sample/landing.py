"""The feed rendered as landing files (CSV and JSON lines), with the quirks real landings have.

The quirks are fixed by position, so every file shows them and output stays byte-identical:

- event times alternate between integer and decimal epoch seconds (``1678451168`` / ``1678451168.0``): the
  data line at index ``i`` (0-based, header excluded) uses the decimal form when ``i % 3 == 1``, so every
  file of two or more lines mixes both;
- a Kafka record's ``timestamp`` is epoch milliseconds, except at line index ``i % 8 == 5``: epoch seconds
  (truncated), as a second connector writes them;
- in every landing folder the files with an odd part number (``set1-part-00001``, ...) have no final newline.
"""

from __future__ import annotations

import json
from pathlib import Path

from fitlake.sample.feed import kafka_key
from fitlake.sample.model import (
    GYM_LOGINS,
    REGISTERED_USERS,
    BadLine,
    BadPayload,
    DateRow,
    GymRow,
    Landed,
    ProfileEvent,
    Reading,
    Registration,
    WorkoutEvent,
)

CSV_HEADERS = {
    REGISTERED_USERS: "user_id,device_id,mac_address,registration_timestamp",
    GYM_LOGINS: "mac_address,gym,login,logout",
}
COMPACT = (",", ":")


def write_set(landed: list[Landed], set_dir: Path) -> None:
    """Write the lines of one set under ``set_dir`` (``<source>/set<N>-part-NNNNN.<ext>``)."""
    by_file: dict[str, list[Landed]] = {}
    for item in landed:
        by_file.setdefault(item.file, []).append(item)
    for file, items in by_file.items():
        header = CSV_HEADERS.get(items[0].source)
        lines = ([header] if header else []) + [render(item, index) for index, item in enumerate(items)]
        path = set_dir / file
        path.parent.mkdir(parents=True, exist_ok=True)
        final_newline = "" if lacks_final_newline(file) else "\n"
        path.write_text("\n".join(lines) + final_newline, encoding="utf-8", newline="")


def lacks_final_newline(file: str) -> bool:
    return part_number(file) % 2 == 1


def part_number(file: str) -> int:
    return int(Path(file).stem.rsplit("-", 1)[1])


def render(item: Landed, index: int) -> str:
    """The text of ``item`` as the ``index``-th data line of its file."""
    record = item.record
    decimal = index % 3 == 1
    if isinstance(record, BadLine):
        return record.text
    if isinstance(record, Registration):
        return f"{record.user_id},{record.device_id},{record.mac_address},{_csv_epoch(record.timestamp, decimal)}"
    if isinstance(record, GymRow):
        login, logout = _csv_epoch(record.login, decimal), _csv_epoch(record.logout, decimal)
        return f"{record.mac_address},{record.gym},{login},{logout}"
    if isinstance(record, DateRow):
        return json.dumps(calendar_row(record), separators=COMPACT)
    value = record.value if isinstance(record, BadPayload) else json.dumps(payload(record, decimal), separators=COMPACT)
    kafka_record = {
        "key": kafka_key(record),
        "value": value,
        "topic": item.topic,
        "partition": item.partition,
        "offset": item.offset,
        "timestamp": item.arrival_ms // 1000 if index % 8 == 5 else item.arrival_ms,
    }
    return json.dumps(kafka_record, separators=COMPACT)


def payload(record: ProfileEvent | Reading | WorkoutEvent, decimal: bool = False) -> dict:
    """The Kafka ``value`` document of a record; event times as floats when ``decimal``."""
    if isinstance(record, Reading):
        return {"device_id": record.device_id, "time": _json_epoch(record.time, decimal), "heartrate": record.heartrate}
    if isinstance(record, WorkoutEvent):
        return {
            "user_id": record.user_id,
            "workout_id": record.workout_id,
            "timestamp": _json_epoch(record.timestamp, decimal),
            "action": record.action,
            "session_id": record.session_id,
        }
    profile = record.profile
    return {
        "user_id": record.user_id,
        "update_type": record.update_type,
        "timestamp": _json_epoch(record.timestamp, decimal),
        "dob": profile.dob.strftime("%m/%d/%Y"),
        "sex": profile.sex,
        "gender": profile.gender,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "address": {
            "street_address": profile.address.street_address,
            "city": profile.address.city,
            "state": profile.address.state,
            "zip": profile.address.zip,
        },
    }


def calendar_row(row: DateRow) -> dict:
    """A date_lookup row, as Spark computes these fields: ``week`` is the ISO week (``weekofyear``),
    ``dayofweek`` runs 1 = Sunday to 7 = Saturday, ``week_part`` is ``<calendar year>-<ISO week>``."""
    day = row.date
    week = day.isocalendar()[1]
    return {
        "date": day.isoformat(),
        "week": week,
        "year": day.year,
        "month": day.month,
        "dayofweek": day.isoweekday() % 7 + 1,
        "dayofmonth": day.day,
        "dayofyear": day.timetuple().tm_yday,
        "week_part": f"{day.year}-{week}",
    }


def _csv_epoch(seconds: int, decimal: bool) -> str:
    return f"{seconds}.0" if decimal else str(seconds)


def _json_epoch(seconds: int, decimal: bool) -> int | float:
    return float(seconds) if decimal else seconds
