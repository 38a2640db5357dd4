"""The setup runs nothing when nothing changed, and everything again when something did.

The driver's setup (tables and views, then the calendar) used to run every statement and reload the calendar
on every run. Now each is skipped when its inputs are the ones already applied; these tests prove that a skip
never hides a change: a dropped table, a changed definition, a newly landed calendar file.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from lake import fresh_lake

from fitlake import tables
from fitlake.pipeline.history import load_date_lookup
from fitlake.streaming import clear_uncommitted_table_folder
from fitlake.tables import GOLD, SILVER, create_all


def test_a_current_setup_runs_nothing(spark, tmp_path):
    config = fresh_lake(spark, tmp_path)
    again = create_all(spark, config)
    assert not again.applied
    assert again.statements == tables.all_ddl(config) and "nothing run" in again.describe(config.catalog)


def test_a_dropped_table_or_view_makes_the_setup_run_again(spark, tmp_path):
    config = fresh_lake(spark, tmp_path)
    for name in (config.table(SILVER, "heart_rate"), config.table(GOLD, tables.GYM_SUMMARY)):
        spark.sql(f"DROP {'VIEW' if name.endswith(tables.GYM_SUMMARY) else 'TABLE'} {name}")
        assert create_all(spark, config).applied
        assert spark.catalog.tableExists(name)
        assert not create_all(spark, config).applied


def test_a_changed_definition_makes_the_setup_run_again(spark, tmp_path, monkeypatch):
    config = fresh_lake(spark, tmp_path)
    # CREATE TABLE IF NOT EXISTS leaves an existing table as it is; what matters is that the statements run.
    changed = tuple(replace(spec, comment="Changed.") if spec.name == "gym_logs" else spec for spec in tables.TABLES)
    monkeypatch.setattr(tables, "TABLES", changed)
    assert create_all(spark, config).applied
    assert not create_all(spark, config).applied


def test_the_calendar_loads_again_only_when_its_landing_files_change(spark, tmp_path):
    config = fresh_lake(spark, tmp_path)  # no calendar files: the generated calendar is loaded
    lookup = config.table(SILVER, "date_lookup")
    generated = spark.table(lookup).count()
    assert load_date_lookup(spark, config).startswith("unchanged")
    day = {"date": "2040-01-02", "week": 1, "year": 2040, "month": 1, "dayofweek": 2, "dayofmonth": 2,
           "dayofyear": 2, "week_part": "2040-1"}  # fmt: skip
    folder = tmp_path / "landing" / "date_lookup"
    (folder / "calendar-2040.json").write_text(json.dumps(day) + "\n")
    assert load_date_lookup(spark, config) == config.landing_path("date_lookup")
    assert spark.table(lookup).count() == generated + 1
    assert spark.table(lookup).where("date = DATE'2040-01-02'").count() == 1
    assert load_date_lookup(spark, config).startswith("unchanged")
    (folder / "calendar-2040.json").write_text(json.dumps({**day, "date": "2040-01-13", "dayofmonth": 13}) + "\n")
    load_date_lookup(spark, config)  # rewritten in place: another size and time, so loaded again
    assert spark.table(lookup).where("date = DATE'2040-01-13'").count() == 1


@pytest.mark.parametrize("left", ["a temporary first commit", "the first commit, no metastore entry"])
def test_a_create_killed_midway_does_not_stop_the_next_setup(spark, tmp_path, left):
    """Found by the crash harness: a setup SIGKILLed inside CREATE TABLE left the table's folder with only a
    temporary first commit in its log, or with the CREATE commit and no metastore entry; every later CREATE of
    the table failed ("location is not empty and also not a Delta table"). The next setup removes such a
    folder (it holds no row) and creates the table. A folder whose log adds rows is left alone."""
    config = fresh_lake(spark, tmp_path)
    name = config.table(SILVER, "heart_rate")
    location = spark.sql(f"DESCRIBE DETAIL {name}").first().location
    log = Path(location.removeprefix("file:")) / "_delta_log"
    create_commit = (log / "00000000000000000000.json").read_text()
    spark.sql(f"DROP TABLE {name}")
    log.mkdir(parents=True)
    (log / "_staged_commits").mkdir()
    if left == "a temporary first commit":
        (log / ".00000000000000000000.json.0f1e2d3c.tmp").write_text(create_commit)
    else:
        (log / "00000000000000000000.json").write_text(create_commit)
    assert create_all(spark, config).created == ("silver.heart_rate",)
    assert spark.table(name).count() == 0 and (log / "00000000000000000000.json").is_file()


def test_a_table_folder_with_rows_and_no_metastore_entry_is_left_alone(spark, tmp_path):
    config = fresh_lake(spark, tmp_path)
    name = config.table(SILVER, "heart_rate")
    spark.sql(f"INSERT INTO {name} (device_id, time, heartrate) VALUES (1, TIMESTAMP'2023-03-10 09:00:00', 80.0)")
    location = spark.sql(f"DESCRIBE DETAIL {name}").first().location
    assert not clear_uncommitted_table_folder(spark, location)
    assert spark.table(name).count() == 1
