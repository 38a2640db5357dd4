"""The source database's schema: what the extract reads, and the SQLite DDL of the embedded default.

The extract reads two tables (or views) whose columns carry the landing contract's names, plus a change
column (the high-water mark): an integer that the database raises on every insert and on every update,
so a row written again (a logout recorded after its login was copied) is read again. SQL Server's
``rowversion`` cast to BIGINT is such a column; in SQLite, triggers maintain it from one counter.

The SQLite columns have type affinity but no enforced types, so a malformed value the application wrote
(an ISO date in ``registration_timestamp``) is kept as it was written and delivered as it is: bronze
quarantines it, as it would from a file.
"""

from __future__ import annotations

from fitlake.contract import GYM_LOGINS, REGISTERED_USERS

# The CSV columns of each source the extract lands, in the contract's order.
LANDING_COLUMNS: dict[str, tuple[str, ...]] = {source.name: source.columns for source in (REGISTERED_USERS, GYM_LOGINS)}

REGISTRATIONS = "registrations"
GYM_SESSIONS = "gym_sessions"
MARK_COLUMN = "row_version"
# The views the extract reads (config: extract.tables.<source>.table): the landing columns and the mark.
# In Azure SQL the same views cast rowversion to BIGINT; here they only select.
EXTRACT_VIEWS = {REGISTERED_USERS.name: "registrations_extract", GYM_LOGINS.name: "gym_sessions_extract"}


def _versioned(table: str, key: str, columns: str) -> str:
    """Triggers that give every inserted or updated row of ``table`` the next value of the change counter.

    The counter is bumped inside the writing transaction, and SQLite admits one writer at a time, so row
    versions become visible in increasing order: no row can commit later with a version below the mark.
    """
    stamp = (
        "UPDATE change_counter SET value = value + 1 WHERE id = 1;\n"
        f"    UPDATE {table} SET {MARK_COLUMN} = (SELECT value FROM change_counter WHERE id = 1) "
        f"WHERE {key} = NEW.{key};"
    )
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_version_insert AFTER INSERT ON {table}\n"
        f"BEGIN\n    {stamp}\nEND;\n"
        # UPDATE OF the payload columns only: the trigger's own write of row_version does not fire it again.
        f"CREATE TRIGGER IF NOT EXISTS {table}_version_update AFTER UPDATE OF {columns} ON {table}\n"
        f"BEGIN\n    {stamp}\nEND;\n"
    )


SQLITE_DDL = f"""
CREATE TABLE IF NOT EXISTS change_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO change_counter (id, value) VALUES (1, 0);

CREATE TABLE IF NOT EXISTS {REGISTRATIONS} (
    registration_id INTEGER PRIMARY KEY,
    user_id INTEGER,
    device_id INTEGER,
    mac_address TEXT,
    registration_timestamp REAL,
    {MARK_COLUMN} INTEGER
);
CREATE INDEX IF NOT EXISTS {REGISTRATIONS}_{MARK_COLUMN} ON {REGISTRATIONS} ({MARK_COLUMN});
{_versioned(REGISTRATIONS, "registration_id", "user_id, device_id, mac_address, registration_timestamp")}
CREATE TABLE IF NOT EXISTS {GYM_SESSIONS} (
    session_id INTEGER PRIMARY KEY,
    mac_address TEXT,
    gym INTEGER,
    login REAL,
    logout REAL,
    {MARK_COLUMN} INTEGER
);
-- One row per visit; NULLs are distinct here, so a row with a missing key is kept (and quarantined later).
CREATE UNIQUE INDEX IF NOT EXISTS {GYM_SESSIONS}_visit ON {GYM_SESSIONS} (mac_address, gym, login);
CREATE INDEX IF NOT EXISTS {GYM_SESSIONS}_{MARK_COLUMN} ON {GYM_SESSIONS} ({MARK_COLUMN});
{_versioned(GYM_SESSIONS, "session_id", "mac_address, gym, login, logout")}
CREATE VIEW IF NOT EXISTS {EXTRACT_VIEWS[REGISTERED_USERS.name]} AS
    SELECT {", ".join(REGISTERED_USERS.columns)}, {MARK_COLUMN} FROM {REGISTRATIONS};
CREATE VIEW IF NOT EXISTS {EXTRACT_VIEWS[GYM_LOGINS.name]} AS
    SELECT {", ".join(GYM_LOGINS.columns)}, {MARK_COLUMN} FROM {GYM_SESSIONS};
"""
