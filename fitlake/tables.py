"""Every bronze, silver and gold object with its explicit column types: the one source of the DDL.

Setup notebooks render and run these statements; they are idempotent (``IF NOT EXISTS``), so a re-run
changes nothing and never drops data. Silver tables that feed other streams keep a change data feed.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from pyspark.sql import SparkSession

from fitlake import platform
from fitlake.config import PipelineConfig
from fitlake.contract import GYM_LOGINS, KAFKA_MULTIPLEX, REGISTERED_USERS
from fitlake.streaming import clear_uncommitted_table_folder, table_property

BRONZE, SILVER, GOLD = "bronze", "silver", "gold"
SCHEMAS = (BRONZE, SILVER, GOLD)


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    columns: str
    comment: str
    partitioned_by: tuple[str, ...] = ()
    change_feed: bool = False


# What bronze adds to a landed row's fields: when it was written, and the file (or Kafka position) it came from.
_LANDED = "load_time TIMESTAMP, source_file STRING"

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        BRONZE,
        REGISTERED_USERS.bronze_table,
        f"{REGISTERED_USERS.schema}, {_LANDED}",
        "Registrations as landed (CSV), one row per well-formed landing row.",
    ),
    TableSpec(
        BRONZE,
        GYM_LOGINS.bronze_table,
        f"{GYM_LOGINS.schema}, {_LANDED}",
        "Gym login/logout sessions as landed (CSV), one row per well-formed landing row.",
    ),
    TableSpec(
        BRONZE,
        KAFKA_MULTIPLEX.bronze_table,
        f"{KAFKA_MULTIPLEX.schema}, date DATE, week_part STRING, {_LANDED}",
        "Kafka records of topics user_info, bpm and workout, multiplexed; date and week_part of the record.",
        partitioned_by=("topic", "week_part"),
    ),
    TableSpec(
        BRONZE,
        "quarantine",
        "source STRING, raw STRING, reason STRING, source_file STRING, load_time TIMESTAMP",
        "Landing lines and rows that could not be read, with the raw text and the reason.",
    ),
    TableSpec(
        SILVER,
        "users",
        "user_id BIGINT, device_id BIGINT, mac_address STRING, registration_timestamp TIMESTAMP",
        "One row per user: the earliest registration.",
        change_feed=True,
    ),
    TableSpec(
        SILVER,
        "gym_logs",
        "mac_address STRING, gym BIGINT, login TIMESTAMP, logout TIMESTAMP",
        "One row per visit (mac_address, gym, login) with the latest logout seen.",
    ),
    TableSpec(
        SILVER,
        "user_profile",
        "user_id BIGINT, dob DATE, sex STRING, gender STRING, first_name STRING, last_name STRING, "
        "street_address STRING, city STRING, state STRING, zip STRING, updated TIMESTAMP",
        "One row per user, SCD type 1: the latest new/update event by event time.",
        change_feed=True,
    ),
    TableSpec(
        SILVER,
        "user_deletes",
        "user_id BIGINT, deleted TIMESTAMP",
        "Tombstones: the latest delete per user, so an older update arriving later cannot bring a user back.",
    ),
    TableSpec(
        SILVER,
        "heart_rate",
        "device_id BIGINT, time TIMESTAMP, heartrate DOUBLE, valid BOOLEAN",
        "One row per (device_id, time); valid = heartrate > 0.",
        change_feed=True,
    ),
    TableSpec(
        SILVER,
        "workouts",
        "user_id BIGINT, workout_id BIGINT, time TIMESTAMP, action STRING, session_id BIGINT",
        "One row per workout event (user_id, time).",
        change_feed=True,
    ),
    TableSpec(
        SILVER,
        "completed_workouts",
        "user_id BIGINT, workout_id BIGINT, session_id BIGINT, start_time TIMESTAMP, end_time TIMESTAMP",
        "Workouts whose start and stop were both seen, within the maximum workout length.",
        change_feed=True,
    ),
    TableSpec(
        SILVER,
        "workout_bpm",
        "user_id BIGINT, workout_id BIGINT, session_id BIGINT, start_time TIMESTAMP, end_time TIMESTAMP, "
        "time TIMESTAMP, heartrate DOUBLE",
        "Valid readings of the user's device during one of the user's completed workouts.",
        change_feed=True,
    ),
    TableSpec(
        SILVER,
        "user_bins",
        "user_id BIGINT, age STRING, gender STRING, city STRING, state STRING",
        "One row per profiled user with an age bin.",
        change_feed=True,
    ),
    TableSpec(
        SILVER,
        "date_lookup",
        "date DATE, week INT, year INT, month INT, dayofweek INT, dayofmonth INT, dayofyear INT, week_part STRING",
        "Calendar rows, loaded once by the history loader.",
    ),
    TableSpec(
        SILVER,
        "quarantine",
        "source STRING, raw STRING, reason STRING, topic STRING, partition INT, offset BIGINT, load_time TIMESTAMP",
        "Bronze records whose payload does not parse or lacks key fields, with the reason.",
    ),
    TableSpec(
        GOLD,
        "workout_bpm_summary",
        "workout_id BIGINT, session_id BIGINT, user_id BIGINT, age STRING, gender STRING, city STRING, "
        "state STRING, min_bpm DOUBLE, avg_bpm DOUBLE, max_bpm DOUBLE, num_recordings BIGINT",
        "One row per completed workout with at least one reading, with the user's profile bins.",
    ),
)


def schema_ddl(config: PipelineConfig) -> list[str]:
    return [f"CREATE SCHEMA IF NOT EXISTS {config.catalog}.{schema}" for schema in SCHEMAS]


def table_ddl(config: PipelineConfig, table: TableSpec) -> str:
    clauses = [f"CREATE TABLE IF NOT EXISTS {config.table(table.schema, table.name)} ({table.columns})", "USING DELTA"]
    if table.partitioned_by:
        clauses.append(f"PARTITIONED BY ({', '.join(table.partitioned_by)})")
    clauses.append("COMMENT '" + table.comment.replace("'", "\\'") + "'")
    if table.change_feed:
        clauses.append("TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')")
    return "\n".join(clauses)


GYM_SUMMARY = "gym_summary"
# A property of the gym summary view: the fingerprint of every statement of the setup. The view is created
# last, so a matching fingerprint means every statement before it ran too. A view's properties live in the
# metastore alone (no Delta log to read), which makes the check cheap.
FINGERPRINT_PROPERTY = "fitlake.setup_fingerprint"


def gym_summary_ddl(config: PipelineConfig, fingerprint: str = "") -> str:
    """The gym usage view: completed workouts that started within a visit of the user's device."""
    properties = f"\nTBLPROPERTIES ('{FINGERPRINT_PROPERTY}' = '{fingerprint}')" if fingerprint else ""
    return f"""CREATE OR REPLACE VIEW {config.table(GOLD, GYM_SUMMARY)}{properties} AS
SELECT
  to_date(g.login) AS date,
  g.gym,
  g.mac_address,
  w.workout_id,
  w.session_id,
  round((unix_micros(g.logout) - unix_micros(g.login)) / 60e6, 2) AS minutes_in_gym,
  round((unix_micros(w.end_time) - unix_micros(w.start_time)) / 60e6, 2) AS minutes_exercising
FROM {config.table(SILVER, "gym_logs")} AS g
JOIN {config.table(SILVER, "users")} AS u ON u.mac_address = g.mac_address
JOIN {config.table(SILVER, "completed_workouts")} AS w
  ON w.user_id = u.user_id AND w.start_time BETWEEN g.login AND g.logout
ORDER BY date, gym, mac_address, session_id"""


def all_ddl(config: PipelineConfig) -> list[str]:
    """Every statement of the setup, in order; the last one stamps the view with their fingerprint."""
    return _stamped_ddl(config)[0]


def _stamped_ddl(config: PipelineConfig) -> tuple[list[str], str]:
    """The statements and their fingerprint: a short digest of their text (before the stamp), which changes
    whenever a definition does."""
    plain = [*schema_ddl(config), *(table_ddl(config, table) for table in TABLES), gym_summary_ddl(config)]
    digest = hashlib.sha256("\n;\n".join(plain).encode("utf-8")).hexdigest()[:16]
    return [*plain[:-1], gym_summary_ddl(config, digest)], digest


def setup_objects() -> list[str]:
    """What the setup's statements create, in their order: each schema, each table, the view (``schema.name``)."""
    return [*SCHEMAS, *(f"{table.schema}.{table.name}" for table in TABLES), f"{GOLD}.{GYM_SUMMARY}"]


@dataclass(frozen=True)
class SetupResult:
    """The statements of the setup, whether they ran (False: everything was present and current), and the
    objects that did not exist before them."""

    statements: list[str]
    applied: bool
    created: tuple[str, ...] = ()

    def describe(self, catalog: str) -> str:
        """One line: how many objects were present and how many created, and whether anything ran."""
        total, created = len(self.statements), len(self.created)
        line = f"{total - created} of {total} schemas, tables and views present, {created} created"
        if 0 < created < total:  # the names are news only when some were there already
            line += f" ({', '.join(self.created)})"
        if not self.applied:
            return f"{line}; definitions current: nothing run (catalog {catalog})"
        if not self.created:
            return f"{line}; a definition changed: {total} statements run, existing tables kept (catalog {catalog})"
        return f"{line} (catalog {catalog})"

    def statements_html(self) -> str:
        """The statements as a preformatted block, for the run record (the console stays one line)."""
        return "<pre>" + html.escape(";\n\n".join(self.statements)) + "</pre>"


def create_all(spark: SparkSession, config: PipelineConfig) -> SetupResult:
    """Create every schema, table and view that does not exist yet.

    Skipped when the objects exist and the view carries the fingerprint of today's statements: checking costs
    a few metastore calls, running the statements costs a Delta log read per table. Any change to a
    definition changes the fingerprint, and a dropped table fails the existence check, so both re-run it.
    """
    statements, digest = _stamped_ddl(config)
    present = _present(spark, config)
    missing = tuple(name for name in setup_objects() if name not in present)
    current = not missing and table_property(spark, config.table(GOLD, GYM_SUMMARY), FINGERPRINT_PROPERTY) == digest
    if current:
        return SetupResult(statements, applied=False)
    _clear_interrupted_creates(spark, config, missing)
    for statement in statements:
        spark.sql(statement)
    return SetupResult(statements, applied=True, created=missing)


def _clear_interrupted_creates(spark: SparkSession, config: PipelineConfig, missing: tuple[str, ...]) -> None:
    """Remove what a killed setup left of the missing tables: folders with a Delta log and no commit, which
    would make their CREATE fail on every later run. Local sessions only: there a managed table's folder is
    ``<schema location>/<table>``; Unity Catalog places and commits managed tables itself."""
    if platform.on_databricks():
        return
    for table in TABLES:
        if f"{table.schema}.{table.name}" in missing and table.schema in _existing_schemas(spark, config):
            location = spark.catalog.getDatabase(f"{config.catalog}.{table.schema}").locationUri
            clear_uncommitted_table_folder(spark, f"{location.rstrip('/')}/{table.name}")


def _existing_schemas(spark: SparkSession, config: PipelineConfig) -> set[str]:
    return {schema for schema in SCHEMAS if spark.catalog.databaseExists(f"{config.catalog}.{schema}")}


def _present(spark: SparkSession, config: PipelineConfig) -> set[str]:
    """The schemas and their tables and views that exist in the catalog (named as ``setup_objects`` names them)."""
    found = set()
    for schema in SCHEMAS:
        if spark.catalog.databaseExists(f"{config.catalog}.{schema}"):
            rows = spark.sql(f"SHOW TABLES IN {config.catalog}.{schema}").collect()
            found |= {schema, *(f"{schema}.{row.tableName}" for row in rows)}
    return found
