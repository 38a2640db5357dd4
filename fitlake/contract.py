"""The landing contract: the sources that land files, what their files hold, and the Kafka topics inside them.

The one owner of these facts. Bronze reads each source with its schema and quarantines a row that lacks a
required field or holds an epoch time out of range; the producer and the chaos harness copy its folders; the
database extract writes the CSV sources' columns; the sample generator renders every source; the Kafka mode and
the Kafka producer use its topics and epoch bounds. The README's "Input contract" describes it for people.
"""

from __future__ import annotations

from dataclasses import dataclass

CSV, JSON = "csv", "json"  # CSV files with a header line; JSON lines

# Epoch values below this are seconds, above it milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
EPOCH_SECONDS_BELOW = 1e11
# A Kafka record's timestamp is epoch milliseconds: below this (the same year 5138) it is one.
EPOCH_MILLIS_BELOW = EPOCH_SECONDS_BELOW * 1000


# The longest landing line (a JSON line; a CSV field) read whole. A longer one would be held in memory at once by
# the readers and exhausts the driver's (a 100 MB line killed a local JVM with 1 GB of heap): the JSON reader
# cuts it here (the record is quarantined) and the CSV reader fails on it, so bronze refuses such a CSV file
# before its stream plans it. The CSV reader allocates this many characters per file it parses, which is why the
# bound is not larger.
MAX_LINE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class LandingSource:
    """One landing source: ``name`` is its folder under the landing zone (bronze's table is ``<name>_bz``),
    ``format`` how its files are written, ``schema`` the Spark DDL of a file's fields in their order,
    ``required`` the fields a row must have (else it is quarantined), ``epoch_seconds`` the fields holding
    epoch seconds (range-checked)."""

    name: str
    format: str
    schema: str
    required: tuple[str, ...] = ()
    epoch_seconds: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(field.split()[0] for field in self.schema.split(", "))

    @property
    def bronze_table(self) -> str:
        """The bronze table its records are appended to (the calendar has none: it is loaded as history)."""
        return f"{self.name}_bz"


REGISTERED_USERS = LandingSource(
    "registered_users",
    CSV,
    "user_id BIGINT, device_id BIGINT, mac_address STRING, registration_timestamp DOUBLE",
    required=("user_id", "device_id", "mac_address", "registration_timestamp"),
    epoch_seconds=("registration_timestamp",),
)
GYM_LOGINS = LandingSource(
    "gym_logins",
    CSV,
    "mac_address STRING, gym BIGINT, login DOUBLE, logout DOUBLE",
    required=("mac_address", "gym", "login"),
    epoch_seconds=("login", "logout"),
)
KAFKA_MULTIPLEX = LandingSource(
    "kafka_multiplex",
    JSON,
    "key STRING, value STRING, topic STRING, partition INT, offset BIGINT, timestamp BIGINT",
    required=("value", "topic", "partition", "offset", "timestamp"),
)
DATE_LOOKUP = LandingSource(
    "date_lookup",
    JSON,
    "date STRING, week INT, year INT, month INT, dayofweek INT, dayofmonth INT, dayofyear INT, week_part STRING",
)

# Every source, in the order a sample set lands: the calendar first (history the setup loads before any stream).
SOURCES = (DATE_LOOKUP, REGISTERED_USERS, GYM_LOGINS, KAFKA_MULTIPLEX)
SOURCE_NAMES = tuple(source.name for source in SOURCES)

# The Kafka topics: each kafka_multiplex record names one; in Kafka mode they are the broker's topics.
USER_INFO, BPM, WORKOUT = "user_info", "bpm", "workout"
TOPICS = (USER_INFO, BPM, WORKOUT)
