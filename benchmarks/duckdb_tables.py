"""The DuckDB anchor: fitlake's silver and gold tables recomputed from the raw landing files, in DuckDB SQL.

An independent implementation, written from the rules in the README ("Input contract", "Rules the pipeline
keeps"), not from fitlake's transforms: it imports nothing from fitlake, so the benchmark compares fitlake with
a second reading of the same rules, and the equality check (``compare``) tests both. It is a batch recompute
of everything, which is what an incremental run is up against (goal 4 of the performance issue).

    python benchmarks/duckdb_tables.py LANDING --age-as-of yyyy-MM-dd [--max-workout-hours 3] [--out DIR]

``LANDING`` holds ``registered_users/``, ``gym_logins/`` and ``kafka_multiplex/`` as fitlake's landing zone
does (every file directly in the folder, names starting with ``.`` or ``_`` ignored). Prints the rows of each
table; ``--out`` writes each as ``DIR/<schema>.<table>.parquet``. DuckDB is a bench-only extra
(``pip install -e ".[bench]"``), never a dependency of fitlake.

Rules as read here, where the README leaves a choice:

- A landing line or row that cannot be read, or a payload that fails a check, is dropped from silver (fitlake
  quarantines it; ``silver.quarantine`` is computed here too, bronze's is not).
- Kafka lines and payloads are read as Spark reads JSON with an explicit schema: a field whose JSON type does not
  fit its column (a string for a number, a decimal for a whole number, a whole number past 64 bits) makes the
  whole line (or payload) malformed; a text column takes any JSON value (a number or an object as its text).
- CSV fields are read as Spark's CSV reader does: a row with more or fewer fields than the header is malformed; a
  whole number is ``[+-]digits``; a decimal is Java's decimal syntax; an empty field is null.
- Event times: epoch seconds as DOUBLE, kept when ``0 <= t < 1e11``, then truncated to microseconds. The Kafka
  record's timestamp is epoch milliseconds, ``0 <= t < 1e14``.
- Where two different rows share a key and the deciding value (the same registration time, two readings at the
  same instant), the smaller row wins, column by column in table order with nulls first: fitlake's tie-break
  within one micro-batch. (Across micro-batches fitlake keeps the row that landed first: only a conflicting
  duplicate split over two runs can tell the two apart.)

Not read as Spark reads them, and absent from the generated data: JSON that Jackson accepts and DuckDB does not
(a top-level array of records), JSON DuckDB accepts and Jackson does
not (a trailing comma), duplicate keys in one JSON object (DuckDB takes the first, Spark the last), Kafka files
whose lines end in a bare CR, a line longer than DuckDB's line limit (2 MB: dropped), and a quote inside a quoted
CSV field (read here as a doubled quote; Spark's reader escapes with a backslash).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

CONFIG = Path(__file__).resolve().parents[1] / "config" / "dev.toml"
TOPICS = ("user_info", "bpm", "workout")
UPDATE_TYPES = ("new", "update", "delete")
WORKOUT_ACTIONS = ("start", "stop")
# Epoch seconds below 1e11 (the year 5138); the Kafka record's milliseconds below 1e14, the same horizon.
EPOCH_SECONDS_BELOW = 1e11
EPOCH_MILLIS_BELOW = 1e14
# Lowest age (in whole years on the age-as-of date) of each bin; the last bin is open-ended.
AGE_BINS = (
    ("under 18", 0), ("18-25", 18), ("25-35", 25), ("35-45", 35), ("45-55", 45),
    ("55-65", 55), ("65-75", 65), ("75-85", 75), ("85-95", 85), ("95+", 95),
)  # fmt: skip


@dataclass(frozen=True)
class Table:
    """One output table: its name as fitlake names it, its columns in fitlake's order, and those the equality
    check leaves out (with the reason in ``TABLES``)."""

    name: str
    columns: tuple[str, ...]
    not_compared: tuple[str, ...] = ()

    @property
    def compared(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.not_compared)

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"


WORKOUT = ("user_id", "workout_id", "session_id", "start_time", "end_time")
TABLES = (
    Table("silver.users", ("user_id", "device_id", "mac_address", "registration_timestamp")),
    Table("silver.gym_logs", ("mac_address", "gym", "login", "logout")),
    Table("silver.user_profile", (
        "user_id", "dob", "sex", "gender", "first_name", "last_name", "street_address", "city", "state", "zip",
        "updated",
    )),
    Table("silver.user_deletes", ("user_id", "deleted")),
    Table("silver.heart_rate", ("device_id", "time", "heartrate", "valid")),
    Table("silver.workouts", ("user_id", "workout_id", "time", "action", "session_id")),
    Table("silver.completed_workouts", WORKOUT),
    Table("silver.workout_bpm", (*WORKOUT, "time", "heartrate")),
    Table("silver.user_bins", ("user_id", "age", "gender", "city", "state")),
    Table("silver.quarantine", ("source", "raw", "reason", "topic", "partition", "offset")),
    Table("gold.workout_bpm_summary", (
        "workout_id", "session_id", "user_id", "age", "gender", "city", "state", "min_bpm", "avg_bpm", "max_bpm",
        "num_recordings",
    )),
    Table("gold.gym_summary", (
        "date", "gym", "mac_address", "workout_id", "session_id", "minutes_in_gym", "minutes_exercising",
    )),
)  # fmt: skip


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# JSON values as Spark's JSON reader reads them into a column of each type, told apart by their JSON text
# (``json_extract`` gives a number as its digits, a string in quotes): ``*_fits``, the value can fill such a
# column (JSON null and an absent key, NULL here, can); ``*_of``, the column's value.
JSON_INTEGER = "'-?[0-9]+'"
JSON_NUMBER = "'-?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?'"
MACROS = f"""
CREATE MACRO absent(j) AS j IS NULL OR j::VARCHAR = 'null';
CREATE MACRO long_of(j) AS
    CASE WHEN regexp_full_match(j::VARCHAR, {JSON_INTEGER}) THEN TRY_CAST(j::VARCHAR AS BIGINT) END;
CREATE MACRO long_fits(j) AS absent(j) OR long_of(j) IS NOT NULL;
CREATE MACRO int_of(j) AS
    CASE WHEN regexp_full_match(j::VARCHAR, {JSON_INTEGER}) THEN TRY_CAST(j::VARCHAR AS INTEGER) END;
CREATE MACRO int_fits(j) AS absent(j) OR int_of(j) IS NOT NULL;
CREATE MACRO double_of(j) AS
    CASE WHEN regexp_full_match(j::VARCHAR, {JSON_NUMBER}) THEN TRY_CAST(j::VARCHAR AS DOUBLE) END;
CREATE MACRO double_fits(j) AS absent(j) OR regexp_full_match(j::VARCHAR, {JSON_NUMBER});
CREATE MACRO object_fits(j) AS absent(j) OR starts_with(j::VARCHAR, '{{');
-- Valid JSON text that is an object: it starts with a brace.
CREATE MACRO is_object(t) AS json_valid(t) AND starts_with(ltrim(t, ' ' || chr(9) || chr(10) || chr(13)), '{{');
-- CSV fields as Spark's CSV reader converts them: Java's Long.parseLong and Double.parseDouble syntax.
CREATE MACRO csv_long_fits(s) AS s IS NULL
    OR (regexp_full_match(s, '[+-]?[0-9]+') AND TRY_CAST(s AS BIGINT) IS NOT NULL);
CREATE MACRO csv_double_fits(s) AS s IS NULL
    OR regexp_full_match(s, '\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?[fFdD]?\\s*');
CREATE MACRO csv_double_of(s) AS TRY_CAST(regexp_replace(trim(s), '[fFdD]$', '') AS DOUBLE);
-- Epoch seconds (DOUBLE) to a timestamp, truncated to microseconds as Spark's timestamp_seconds does.
CREATE MACRO epoch_ts(s) AS make_timestamp(CAST(trunc(s * 1000000.0) AS BIGINT));
CREATE MACRO not_epoch(s, below) AS isnan(s) OR s < 0 OR s >= below;
-- round(x, 2) as Spark rounds a DOUBLE: half up on its shortest decimal text.
CREATE MACRO round2(x) AS CAST(round(CAST(CAST(x AS VARCHAR) AS DECIMAL(38, 18)), 2) AS DOUBLE);
CREATE MACRO age_on(dob, on_day) AS year(on_day) - year(dob)
    - CASE WHEN month(on_day) < month(dob) OR (month(on_day) = month(dob) AND day(on_day) < day(dob)) THEN 1 ELSE 0 END;
CREATE MACRO age_bin(age) AS CASE {" ".join(f"WHEN age >= {low} THEN '{name}'" for name, low in AGE_BINS[::-1])} END;
"""


def landing_files(landing: Path, source: str) -> list[str]:
    """The files a landing stream reads: directly in the folder, hidden names (``.``, ``_``) left out."""
    folder = landing / source
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def _files(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def csv_rows(source: str, header: tuple[str, ...], paths: list[str]) -> str:
    """Rows of a CSV source as text, plus ``fields_ok``: exactly as many fields as the header.

    One spare column catches a row with too many fields; the null string is one no field holds, so a field
    that is present but empty reads as '' (then null, as Spark reads it) and only a missing field is NULL.
    """
    if not paths:
        columns = ", ".join(f"NULL::VARCHAR AS {c}" for c in header)
        return f"CREATE TABLE {source}_raw AS SELECT {columns}, true AS fields_ok LIMIT 0"
    spec = ", ".join(f"'{c}': 'VARCHAR'" for c in (*header, "_spare"))
    fields = ", ".join(f"nullif({c}, '') AS {c}" for c in header)
    return f"""
CREATE TABLE {source}_raw AS
SELECT {fields}, {header[-1]} IS NOT NULL AND _spare IS NULL AS fields_ok
FROM read_csv({_files(paths)}, header = true, columns = {{{spec}}}, auto_detect = false, delim = ',', quote = '"',
              escape = '"', nullstr = chr(1), null_padding = true, parallel = false, strict_mode = false,
              ignore_errors = true)"""


def kafka_lines(paths: list[str]) -> str:
    """One row per line of the Kafka landing files (DuckDB's CSV reader splits them, in parallel; blank lines, as
    Spark skips them, are not JSON and so no record either).

    No quote or escape character, and a separator no JSON line holds (a JSON text has no raw control
    characters): a line that holds one anyway is not JSON, and is dropped, as fitlake drops it from silver.
    """
    if not paths:
        return "CREATE TABLE kafka_lines AS SELECT NULL::VARCHAR AS line LIMIT 0"
    return f"""
CREATE TABLE kafka_lines AS
SELECT line FROM read_csv({_files(paths)}, columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(1), quote = '',
                          escape = '', auto_detect = false, strict_mode = false, ignore_errors = true)"""


def _extract(text: str, fields: dict[str, str]) -> tuple[str, str]:
    """Reading ``fields`` (path -> long, int, double, text or object) from the JSON ``text``, in two select lists.

    The first parses ``text`` once into the struct ``_r``: numbers and objects as JSON (their kind shows in
    their text), text fields as strings (a number or an object as its JSON text). The second, over the first,
    gives one column per field but the objects (named by the path's last part; a field inside an object from a
    second, small parse of the object) and ``well_formed``, true when every value fits its column.
    """
    top = {path: kind for path, kind in fields.items() if "." not in path}
    spec = json.dumps({path: "VARCHAR" if kind == "text" else "JSON" for path, kind in top.items()})
    parsed = f"json_transform({text}, '{spec}') AS _r"
    items, fits = [], []
    for path, kind in top.items():
        if kind != "text":
            fits.append(f'{kind}_fits(_r."{path}")')
        if kind == "object":
            inner = {p.split(".", 1)[1]: "VARCHAR" for p in fields if p.startswith(f"{path}.")}
            parts = f"json_transform(_r.\"{path}\", '{json.dumps(inner)}')"
            items += [f'{parts}."{name}" AS "{name}"' for name in inner]
        else:
            items.append(f'{"" if kind == "text" else kind + "_of"}(_r."{path}") AS "{path}"')
    return parsed, ", ".join([*items, f"{' AND '.join(fits)} AS well_formed"])


RECORD_FIELDS = {
    "key": "text", "value": "text", "topic": "text", "partition": "int", "offset": "long", "timestamp": "long",
}  # fmt: skip
RECORD_EXTRACT = _extract("line", RECORD_FIELDS)


BRONZE = f"""
CREATE TABLE registrations AS
SELECT CAST(user_id AS BIGINT) AS user_id, CAST(device_id AS BIGINT) AS device_id, mac_address,
       epoch_ts(csv_double_of(registration_timestamp)) AS registration_timestamp
FROM registered_users_raw
WHERE fields_ok AND csv_long_fits(user_id) AND csv_long_fits(device_id) AND csv_double_fits(registration_timestamp)
  AND user_id IS NOT NULL AND device_id IS NOT NULL AND mac_address IS NOT NULL AND registration_timestamp IS NOT NULL
  AND NOT not_epoch(csv_double_of(registration_timestamp), {EPOCH_SECONDS_BELOW});

CREATE TABLE gym_rows AS
SELECT mac_address, CAST(gym AS BIGINT) AS gym, epoch_ts(csv_double_of(login)) AS login,
       epoch_ts(csv_double_of(logout)) AS logout
FROM gym_logins_raw
WHERE fields_ok AND csv_long_fits(gym) AND csv_double_fits(login) AND csv_double_fits(logout)
  AND mac_address IS NOT NULL AND gym IS NOT NULL AND login IS NOT NULL
  AND NOT not_epoch(csv_double_of(login), {EPOCH_SECONDS_BELOW})
  AND NOT coalesce(not_epoch(csv_double_of(logout), {EPOCH_SECONDS_BELOW}), false);

-- Kafka records that bronze keeps: JSON whose fields fit the record's schema, with every field but the key, a
-- known topic and a plausible timestamp. (A line that is JSON but no object has no fields, so no value.)
CREATE TABLE records AS
WITH parsed AS (
    SELECT {RECORD_EXTRACT[0]} FROM kafka_lines WHERE json_valid(line)
), typed AS (
    SELECT {RECORD_EXTRACT[1]} FROM parsed
)
SELECT value, topic, partition, "offset", timestamp FROM typed
WHERE well_formed AND value IS NOT NULL AND topic IS NOT NULL AND partition IS NOT NULL AND "offset" IS NOT NULL
  AND timestamp IS NOT NULL AND topic IN ({_quoted(TOPICS)}) AND timestamp >= 0 AND timestamp < {EPOCH_MILLIS_BELOW};
"""


def payloads(topic: str, source: str, fields: dict[str, str], required: tuple[str, ...], checks: str) -> str:
    """The records of ``topic`` with their payload parsed and ``reason``: null for a good payload, else the first
    problem, in fitlake's wording."""
    missing = " ".join(f"WHEN {name} IS NULL THEN 'missing {name}'" for name in required)
    parsed, typed = _extract("CASE WHEN json_valid(value) THEN value END", fields)
    return f"""
CREATE TABLE {source}_parsed AS
WITH parsed AS (
    SELECT topic, partition, "offset", value, is_object(value) AS readable, {parsed}
    FROM records WHERE topic = '{topic}'
), typed AS (
    SELECT topic, partition, "offset", value, readable, {typed} FROM parsed
)
SELECT * EXCLUDE (readable, well_formed),
       CASE WHEN NOT (readable AND well_formed) THEN 'value is not a JSON document' {missing} {checks} END AS reason
FROM typed"""


def _one_of(column: str, allowed: tuple[str, ...]) -> str:
    return (
        f"WHEN {column} NOT IN ({_quoted(allowed)}) "
        f"THEN '{column} must be one of {', '.join(allowed)}, got ' || {column}"
    )


def _epoch(column: str) -> str:
    return f"WHEN not_epoch({column}, {EPOCH_SECONDS_BELOW}) THEN '{column} is not an epoch time'"


# A dob is MM/dd/yyyy: two digits, two digits, four digits, and a real date.
DOB = (
    "CASE WHEN regexp_full_match(dob, '[0-9]{2}/[0-9]{2}/[0-9]{4}') "
    "THEN CAST(try_strptime(dob, '%m/%d/%Y') AS DATE) END"
)
PAYLOADS = [
    payloads(
        "user_info", "user_profile",
        {"user_id": "long", "update_type": "text", "timestamp": "double", "dob": "text", "sex": "text",
         "gender": "text", "first_name": "text", "last_name": "text", "address": "object",
         **{f"address.{part}": "text" for part in ("street_address", "city", "state", "zip")}},
        ("user_id", "update_type", "timestamp"),
        f"{_one_of('update_type', UPDATE_TYPES)} {_epoch('timestamp')} "
        f"WHEN dob IS NOT NULL AND ({DOB}) IS NULL THEN 'dob is not a MM/dd/yyyy date'",
    ),
    payloads(
        "bpm", "heart_rate", {"device_id": "long", "time": "double", "heartrate": "double"},
        ("device_id", "time", "heartrate"), _epoch("time"),
    ),
    payloads(
        "workout", "workouts",
        {"user_id": "long", "workout_id": "long", "timestamp": "double", "action": "text", "session_id": "long"},
        ("user_id", "workout_id", "timestamp", "action", "session_id"),
        f"{_one_of('action', WORKOUT_ACTIONS)} {_epoch('timestamp')}",
    ),
]  # fmt: skip


def _first(key: str, order: str, columns: tuple[str, ...]) -> str:
    """A QUALIFY clause: one row per ``key``, the first by ``order``, ties broken by ``columns`` ascending."""
    ties = ", ".join(f"{c} ASC NULLS FIRST" for c in columns)
    return f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}, {ties}) = 1"


QUARANTINE = " UNION ALL ".join(
    f"SELECT '{source}' AS source, value AS raw, reason, topic, partition, \"offset\" FROM {source}_parsed "
    "WHERE reason IS NOT NULL"
    for source in ("user_profile", "heart_rate", "workouts")
)


def silver_and_gold(age_as_of: date, max_workout_hours: int) -> str:
    profile = TABLES[2].columns
    return f"""
CREATE TABLE "silver.users" AS
SELECT * FROM registrations
{_first("user_id", "registration_timestamp ASC", TABLES[0].columns)};

CREATE TABLE "silver.gym_logs" AS
SELECT mac_address, gym, login, max(logout) AS logout FROM gym_rows GROUP BY mac_address, gym, login;

CREATE TABLE profile_events AS
SELECT user_id, {DOB} AS dob, sex, gender, first_name, last_name, street_address, city, state, zip,
       epoch_ts(timestamp) AS updated, update_type
FROM user_profile_parsed WHERE reason IS NULL;

CREATE TABLE "silver.user_deletes" AS
SELECT user_id, max(updated) AS deleted FROM profile_events WHERE update_type = 'delete' GROUP BY user_id;

-- The newest new/update, unless a delete as new or newer removed the user.
CREATE TABLE "silver.user_profile" AS
SELECT {", ".join(f"e.{c}" for c in profile)}
FROM profile_events AS e LEFT JOIN "silver.user_deletes" AS d ON d.user_id = e.user_id
WHERE e.update_type <> 'delete' AND (d.deleted IS NULL OR e.updated > d.deleted)
{_first("e.user_id", "e.updated DESC", tuple(f"e.{c}" for c in profile))};

CREATE TABLE "silver.heart_rate" AS
SELECT * FROM (
    SELECT device_id, epoch_ts(time) AS time, heartrate, heartrate > 0 AS valid
    FROM heart_rate_parsed WHERE reason IS NULL
)
{_first("device_id, time", "device_id", TABLES[4].columns)};

CREATE TABLE "silver.workouts" AS
SELECT * FROM (
    SELECT user_id, workout_id, epoch_ts(timestamp) AS time, action, session_id
    FROM workouts_parsed WHERE reason IS NULL
)
{_first("user_id, time", "user_id", TABLES[5].columns)};

-- The earliest start and the latest stop of each workout, start < end < start + the maximum length.
CREATE TABLE "silver.completed_workouts" AS
SELECT * FROM (
    SELECT user_id, workout_id, session_id, min(time) FILTER (action = 'start') AS start_time,
           max(time) FILTER (action = 'stop') AS end_time
    FROM "silver.workouts" GROUP BY user_id, workout_id, session_id
)
WHERE end_time > start_time AND end_time < start_time + INTERVAL {int(max_workout_hours)} HOUR;

-- Valid readings of the user's registered device during the workout: start_time < time <= end_time.
CREATE TABLE "silver.workout_bpm" AS
SELECT w.user_id, w.workout_id, w.session_id, w.start_time, w.end_time, r.time, r.heartrate
FROM "silver.completed_workouts" AS w
JOIN "silver.users" AS u ON u.user_id = w.user_id
JOIN "silver.heart_rate" AS r ON r.device_id = u.device_id AND r.time > w.start_time AND r.time <= w.end_time
WHERE r.valid;

CREATE TABLE "silver.user_bins" AS
SELECT user_id, age_bin(age_on(dob, DATE '{age_as_of.isoformat()}')) AS age, gender, city, state
FROM "silver.user_profile";

CREATE TABLE "silver.quarantine" AS
{QUARANTINE};;

CREATE TABLE "gold.workout_bpm_summary" AS
SELECT s.workout_id, s.session_id, s.user_id, b.age, b.gender, b.city, b.state, s.min_bpm, s.avg_bpm, s.max_bpm,
       s.num_recordings
FROM (
    SELECT user_id, workout_id, session_id, min(heartrate) AS min_bpm, avg(heartrate) AS avg_bpm,
           max(heartrate) AS max_bpm, count(*) AS num_recordings
    FROM "silver.workout_bpm" GROUP BY user_id, workout_id, session_id
) AS s JOIN "silver.user_bins" AS b ON b.user_id = s.user_id;

-- Completed workouts that started within a visit of the user's device.
CREATE TABLE "gold.gym_summary" AS
SELECT CAST(g.login AS DATE) AS date, g.gym, g.mac_address, w.workout_id, w.session_id,
       round2((epoch_us(g.logout) - epoch_us(g.login)) / 60e6) AS minutes_in_gym,
       round2((epoch_us(w.end_time) - epoch_us(w.start_time)) / 60e6) AS minutes_exercising
FROM "silver.gym_logs" AS g
JOIN "silver.users" AS u ON u.mac_address = g.mac_address
JOIN "silver.completed_workouts" AS w ON w.user_id = u.user_id AND w.start_time BETWEEN g.login AND g.logout;
"""


def statements(landing: Path, age_as_of: date, max_workout_hours: int) -> list[str]:
    """Every statement of the recompute, in order."""
    script = [
        MACROS,
        csv_rows("registered_users", ("user_id", "device_id", "mac_address", "registration_timestamp"),
                 landing_files(landing, "registered_users")),
        csv_rows("gym_logins", ("mac_address", "gym", "login", "logout"), landing_files(landing, "gym_logins")),
        kafka_lines(landing_files(landing, "kafka_multiplex")),
        BRONZE,
        *PAYLOADS,
        silver_and_gold(age_as_of, max_workout_hours),
    ]  # fmt: skip
    return [s.strip() for text in script for s in text.split(";\n") if s.strip()]


def recompute(con: duckdb.DuckDBPyConnection, landing: Path, age_as_of: date, max_workout_hours: int) -> dict[str, int]:
    """Compute every table in ``con``; the rows of each."""
    for statement in statements(landing, age_as_of, max_workout_hours):
        con.execute(statement)
    return {t.name: con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in TABLES}


def write(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        target = str(out / table.file).replace("'", "''")
        columns = ", ".join(f'"{c}"' for c in table.columns)
        con.execute(f"COPY (SELECT {columns} FROM \"{table.name}\") TO '{target}' (FORMAT parquet)")


@dataclass(frozen=True)
class Comparison:
    """One table on both sides: rows on each, rows found on one side only (as multisets), a few of them."""

    table: str
    fitlake_rows: int
    duckdb_rows: int
    only_fitlake: int
    only_duckdb: int
    examples: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return self.only_fitlake == 0 and self.only_duckdb == 0


# Doubles are compared rounded to this many decimals (summation order may move an average's last bit).
DOUBLE_DECIMALS = 9


def _normalized(con: duckdb.DuckDBPyConnection, source: str, columns: tuple[str, ...]) -> str:
    """A SELECT of ``columns`` from ``source`` in the compared form: timestamps as epoch microseconds, doubles
    rounded to ``DOUBLE_DECIMALS``, everything else as it is."""
    kinds = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
    parts = []
    for column in columns:
        kind, quoted = kinds[column], f'"{column}"'
        if kind.startswith("TIMESTAMP"):
            parts.append(f"epoch_us({quoted}) AS {quoted}")
        elif kind in ("DOUBLE", "FLOAT"):
            parts.append(f"round({quoted}, {DOUBLE_DECIMALS}) AS {quoted}")
        else:
            parts.append(quoted)
    return f"SELECT {', '.join(parts)} FROM {source}"


def compare(duckdb_dir: Path, fitlake_dir: Path, tables: tuple[Table, ...] = TABLES) -> list[Comparison]:
    """Each table as this anchor wrote it (``--out``) against fitlake's export (``benchmarks/export_tables.py``):
    equal when both hold the same rows the same number of times."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    found = []
    for table in tables:
        ours = f"read_parquet('{duckdb_dir / table.file}')"
        theirs = f"read_parquet('{fitlake_dir / table.name}/*.parquet')"
        a, b = _normalized(con, theirs, table.compared), _normalized(con, ours, table.compared)
        only_a = con.execute(f"({a}) EXCEPT ALL ({b})").fetchall()
        only_b = con.execute(f"({b}) EXCEPT ALL ({a})").fetchall()
        examples = [f"only in fitlake: {row}" for row in only_a[:3]] + [f"only in duckdb: {row}" for row in only_b[:3]]
        found.append(Comparison(
            table.name, con.execute(f"SELECT count(*) FROM {theirs}").fetchone()[0],
            con.execute(f"SELECT count(*) FROM {ours}").fetchone()[0], len(only_a), len(only_b), tuple(examples),
        ))  # fmt: skip
    return found


def default_max_workout_hours() -> int:
    """The dev environment's maximum workout length (config/dev.toml), which the benchmark's runs use."""
    return int(tomllib.loads(CONFIG.read_text(encoding="utf-8"))["pipeline"]["max_workout_hours"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path, help="the landing folder (registered_users/, gym_logins/, ...)")
    parser.add_argument("--age-as-of", type=date.fromisoformat, required=True, help="age bins on this date")
    parser.add_argument("--max-workout-hours", type=int, default=None, help="default: config/dev.toml's")
    parser.add_argument("--out", type=Path, help="write each table as DIR/<schema>.<table>.parquet")
    args = parser.parse_args(argv)
    hours = args.max_workout_hours if args.max_workout_hours is not None else default_max_workout_hours()
    clock = time.monotonic()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    rows = recompute(con, args.landing, args.age_as_of, hours)
    if args.out is not None:
        write(con, args.out)
    for name, count in rows.items():
        print(f"{name:<28} {count:>10}")
    print(f"{len(rows)} tables in {time.monotonic() - clock:.2f} s (DuckDB {duckdb.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
