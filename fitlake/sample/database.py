"""Load a sample set into the SQLite source database, as the gyms' applications would have written it.

Registrations are inserted, one row per CSV row. Gym sessions are one row per visit (mac_address, gym,
login): a row for a visit already in the database is an update of its logout, which the application only
ever moves later (a re-sent, older logout changes nothing, as silver keeps the latest logout). Every write
raises the row's change column (schema triggers), so the extract delivers an updated row again. Values
are stored as the CSV holds them: SQLite keeps a malformed one as text, and bronze quarantines it later.
Standard library only.
"""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from fitlake.contract import GYM_LOGINS, REGISTERED_USERS
from fitlake.extract.schema import GYM_SESSIONS, LANDING_COLUMNS, REGISTRATIONS, SQLITE_DDL
from fitlake.sample.producer import set_files

# Insert a visit, or move its logout later; NULL keys never conflict (NULLs are distinct in the index).
_UPSERT_SESSION = f"""
INSERT INTO {GYM_SESSIONS} (mac_address, gym, login, logout) VALUES (?, ?, ?, ?)
ON CONFLICT (mac_address, gym, login) DO UPDATE SET logout = excluded.logout
WHERE excluded.logout IS NOT NULL AND (logout IS NULL OR excluded.logout > logout)
"""
_INSERT_REGISTRATION = (
    f"INSERT INTO {REGISTRATIONS} (user_id, device_id, mac_address, registration_timestamp) VALUES (?, ?, ?, ?)"
)


@dataclass(frozen=True)
class LoadResult:
    registrations: int
    sessions_written: int
    sessions_unchanged: int


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the source tables and their change-column triggers (idempotent)."""
    connection.executescript(SQLITE_DDL)


def load_set(database: Path, set_dir: Path) -> LoadResult:
    """Write a sample set's registrations and gym sessions into ``database`` (created if absent)."""
    database.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(database)
    try:
        with connection:
            create_schema(connection)
            registrations, written, unchanged = 0, 0, 0
            for source, path in set_files(set_dir):
                if source == REGISTERED_USERS.name:
                    registrations += _insert_all(connection, _INSERT_REGISTRATION, _rows(path, source))
                elif source == GYM_LOGINS.name:
                    for row in _rows(path, source):
                        changed = connection.execute(_UPSERT_SESSION, row).rowcount
                        written, unchanged = written + changed, unchanged + (1 - changed)
        return LoadResult(registrations, written, unchanged)
    finally:
        connection.close()


def _insert_all(connection: sqlite3.Connection, statement: str, rows: list[tuple]) -> int:
    connection.executemany(statement, rows)
    return len(rows)


def _rows(path: Path, source: str) -> list[tuple]:
    """The CSV's data rows as parameter tuples: an empty field is NULL, as Spark's CSV reader takes it.

    A short row is padded with NULLs; a long one keeps its extra fields in its last column, so the
    malformed value still reaches bronze (and its quarantine) instead of being cut off here.
    """
    width = len(LANDING_COLUMNS[source])
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    rows = []
    for fields in records[1:]:
        if not fields:
            continue
        fields = [*fields[: width - 1], ",".join(fields[width - 1 :])] if len(fields) > width else fields
        padded = [*fields, *[""] * (width - len(fields))]
        rows.append(tuple(value if value != "" else None for value in padded))
    return rows
