"""The extract against a real SQLite file through Spark's JDBC reader, into a real local landing folder.

No pipeline runs here (tests/integration/test_extract.py has those): marks, re-delivery of an updated row,
empty increments, increments split by size, crashes inside the file write, and unusable marks.
"""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from lake import SETS, fresh_lake

from fitlake import pipeline
from fitlake.config import PipelineConfig, load_config
from fitlake.errors import FitlakeError
from fitlake.extract import ExtractConfig, extract_all, load_extract_config
from fitlake.extract.run import state_path
from fitlake.extract.state import ExtractState, StateStore
from fitlake.local.fs import LocalFs
from fitlake.sample.database import create_schema, load_set

pytestmark = pytest.mark.integration


class SimulatedCrashError(Exception):
    """Stands for the process dying at that point."""


class CrashBeforeRename(LocalFs):
    """The local dbutils.fs, dying once between writing the hidden file and renaming it."""

    crashed = False

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        if not self.crashed:
            self.crashed = True
            raise SimulatedCrashError(f"died before renaming {from_}")
        return super().mv(from_, to, recurse)


def no_secrets(scope: str, key: str) -> str:
    raise AssertionError(f"the SQLite source needs no secret, asked for {scope}/{key}")


@pytest.fixture
def lake(spark, tmp_path: Path) -> tuple[PipelineConfig, ExtractConfig, LocalFs, Path]:
    config = replace(
        load_config(spark, "dev"), landing=f"file:{tmp_path}/landing", checkpoints=f"file:{tmp_path}/checkpoints"
    )
    database = tmp_path / "source.sqlite"
    extract = load_extract_config(spark, "dev", jdbc_url=f"jdbc:sqlite:{database}")
    return config, extract, LocalFs(tmp_path / "dbfs", tmp_path / "volumes", roots=(tmp_path,)), database


def landed(config: PipelineConfig, source: str) -> dict[str, list[list[str]]]:
    """Every file in the source's landing folder (hidden ones too): its data rows."""
    folder = Path(config.landing_path(source).removeprefix("file:"))
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    return {path.name: list(csv.reader(path.open()))[1:] for path in files}


def test_a_logout_written_after_its_login_was_copied_is_delivered_again(spark, lake):
    config, extract, fs, database = lake
    load_set(database, SETS[0])
    extract_all(spark, config, extract, fs, no_secrets)
    load_set(database, SETS[1])
    deliveries = extract_all(spark, config, extract, fs, no_secrets)
    assert [(d.source, d.low, d.high, d.rows) for d in deliveries] == [
        ("registered_users", 12, 24, 4),
        ("gym_logins", 20, 30, 5),
    ]
    files = landed(config, "gym_logins")
    visit = ["14:0a:19:71:17:44", "2", "1678187793.0"]
    assert [row[3] for row in files["gym_logins-start-20.csv"] if row[:3] == visit] == ["1678192530.0"]
    assert [row[3] for row in files["gym_logins-20-30.csv"] if row[:3] == visit] == ["1678193790.0"]


def test_bad_values_land_as_the_database_holds_them(spark, lake):
    config, extract, fs, database = lake
    load_set(database, SETS[0])
    extract_all(spark, config, extract, fs, no_secrets, ["registered_users"])
    rows = landed(config, "registered_users")["registered_users-start-12.csv"]
    assert ["61750", "190122", "14:0a:94:d6:49:3c", "2023-03-05T10:01:40Z"] in rows
    assert len(rows) == 12  # every row of the table, bad ones included


def test_an_empty_increment_writes_no_file_and_keeps_the_mark(spark, lake):
    config, extract, fs, database = lake
    load_set(database, SETS[0])
    extract_all(spark, config, extract, fs, no_secrets)
    before = {source: landed(config, source) for source in ("registered_users", "gym_logins")}
    assert extract_all(spark, config, extract, fs, no_secrets) == []
    assert {source: landed(config, source) for source in before} == before
    assert StateStore(spark, state_path(config, "gym_logins"), "gym_logins").load() == ExtractState(20)


def test_a_large_increment_lands_as_several_files_each_row_once(spark, lake):
    config, extract, fs, database = lake
    load_set(database, SETS[0])
    deliveries = extract_all(spark, config, replace(extract, max_rows_per_file=5), fs, no_secrets, ["registered_users"])
    assert [(d.low, d.high, d.rows) for d in deliveries] == [(None, 5, 5), (5, 10, 5), (10, 12, 2)]
    files = landed(config, "registered_users")
    assert sorted(files) == ["registered_users-10-12.csv", "registered_users-5-10.csv", "registered_users-start-5.csv"]
    assert sum(len(rows) for rows in files.values()) == 12


def test_the_overlap_window_re_reads_marks_below_the_saved_one(spark, lake):
    config, extract, fs, database = lake
    load_set(database, SETS[0])
    extract_all(spark, config, extract, fs, no_secrets, ["registered_users"])
    load_set(database, SETS[1])
    (delivery,) = extract_all(spark, config, replace(extract, overlap=3), fs, no_secrets, ["registered_users"])
    assert (delivery.low, delivery.high, delivery.rows) == (9, 24, 7)  # marks 10-12 again, then set 2's 4 rows


def test_a_crash_before_the_rename_is_finished_by_the_next_run(spark, lake, tmp_path):
    config, extract, _, database = lake
    load_set(database, SETS[0])
    fs = CrashBeforeRename(tmp_path / "dbfs", tmp_path / "volumes", roots=(tmp_path,))
    with pytest.raises(SimulatedCrashError):
        extract_all(spark, config, extract, fs, no_secrets, ["gym_logins"])
    assert list(landed(config, "gym_logins")) == [".gym_logins-start-20.csv.incoming"]  # streams skip it
    (delivery,) = extract_all(spark, config, extract, fs, no_secrets, ["gym_logins"])
    assert (delivery.recovered, delivery.written, delivery.rows) == (True, True, 7)
    assert list(landed(config, "gym_logins")) == ["gym_logins-start-20.csv"]


def test_a_row_without_a_usable_mark_stops_the_extract(spark, lake):
    config, extract, fs, database = lake
    load_set(database, SETS[0])
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE gym_sessions SET row_version = NULL WHERE session_id = 3")
    with pytest.raises(FitlakeError, match="1 row.* NULL or non-integer row_version"):
        extract_all(spark, config, extract, fs, no_secrets, ["gym_logins"])
    assert landed(config, "gym_logins") == {}


def test_a_value_holding_line_breaks_lands_quoted_and_bronze_reads_one_row(spark, lake, tmp_path):
    # A lone CR once ended the landed line: this MAC would have become a second, well-formed registration.
    injecting = "AA:BB\r999,888,EV:IL:00:00:00:01,1700000000\r"
    config, extract, fs, database = lake
    config = fresh_lake(spark, tmp_path / "lake")
    with sqlite3.connect(database) as connection:
        create_schema(connection)
        connection.executemany(
            "INSERT INTO registrations (user_id, device_id, mac_address, registration_timestamp) VALUES (?, ?, ?, ?)",
            [(1, 100, injecting, 1700000001), (2, 200, "CC:DD\nEE:FF", 1700000002), (3, 300, "ok", 1700000003)],
        )
    extract_all(spark, config, extract, fs, no_secrets, ["registered_users"])
    pipeline.run(spark, config, layers=["bronze"])
    bronze = spark.table(config.table("bronze", "registered_users_bz"))
    rows = sorted((row.user_id, row.mac_address) for row in bronze.collect())
    assert rows == [(1, injecting), (2, "CC:DD\nEE:FF"), (3, "ok")]
    assert spark.table(config.table("bronze", "quarantine")).count() == 0
