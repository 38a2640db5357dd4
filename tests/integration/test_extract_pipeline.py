"""The database path end to end: sample sets written to SQLite -> extract -> pipeline, against the expected rows.

Both tests compare every silver and gold table with the rows the generator expects after each set's run.
The second also crashes the extract between a landed file and its saved mark, lets the pipeline ingest
that file, and checks that the re-run neither loses nor re-delivers a row (landing files and bronze).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from lake import SETS, assert_as_expected, fresh_lake, land

from fitlake import pipeline
from fitlake.config import PipelineConfig
from fitlake.contract import DATE_LOOKUP, KAFKA_MULTIPLEX
from fitlake.extract import extract_all, load_extract_config
from fitlake.extract.increment import Increment
from fitlake.extract.run import Delivery, state_path
from fitlake.extract.state import ExtractState, StateStore
from fitlake.local.fs import LocalFs
from fitlake.sample.database import load_set

# Sources that do not come from the database: landed as files, as in the file mode.
OTHER_SOURCES = (KAFKA_MULTIPLEX.name, DATE_LOOKUP.name)  # the extract lands the CSV sources


class SimulatedCrashError(Exception):
    """Stands for the process dying at that point."""


def no_secrets(scope: str, key: str) -> str:
    raise AssertionError(f"the SQLite source needs no secret, asked for {scope}/{key}")


def landed_rows(config: PipelineConfig, source: str) -> dict[str, list[list[str]]]:
    folder = Path(config.landing_path(source).removeprefix("file:"))
    return {path.name: list(csv.reader(path.open()))[1:] for path in sorted(folder.iterdir())}


def crash_when_confirming(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    """Die once, right after ``source``'s file landed and before its mark is saved."""
    save = StateStore.save

    def dying_save(self: StateStore, state: ExtractState) -> ExtractState:
        if self.source == source and state.pending is None:
            monkeypatch.setattr(StateStore, "save", save)
            raise SimulatedCrashError(f"died before saving the mark of {source}")
        return save(self, state)

    monkeypatch.setattr(StateStore, "save", dying_save)


def test_sets_through_the_database_give_the_expected_tables(spark, tmp_path):
    config = fresh_lake(spark, tmp_path / "lake", SETS[0])
    database = tmp_path / "source.sqlite"
    extract = load_extract_config(spark, "dev", jdbc_url=f"jdbc:sqlite:{database}")
    fs = LocalFs(tmp_path / "dbfs", tmp_path / "volumes", roots=(tmp_path,))
    for upto_set, set_dir in enumerate(SETS, start=1):
        load_set(database, set_dir)
        extract_all(spark, config, extract, fs, no_secrets)
        land(config, set_dir, OTHER_SOURCES)
        pipeline.run(spark, config)
        assert_as_expected(spark, config, upto_set)
    # The malformed registration came through the database unchanged, and bronze quarantined it.
    quarantine = spark.table(config.table("bronze", "quarantine")).where("source = 'registered_users_bz'")
    assert [row.raw for row in quarantine.collect()] == ["61750,190122,14:0a:94:d6:49:3c,2023-03-05T10:01:40Z"]


def test_a_crash_between_file_and_mark_loses_and_duplicates_nothing(spark, tmp_path, monkeypatch):
    config = fresh_lake(spark, tmp_path / "lake", SETS[0])
    database = tmp_path / "source.sqlite"
    extract = load_extract_config(spark, "dev", jdbc_url=f"jdbc:sqlite:{database}")
    fs = LocalFs(tmp_path / "dbfs", tmp_path / "volumes", roots=(tmp_path,))
    store = StateStore(spark, state_path(config, "gym_logins"), "gym_logins")

    load_set(database, SETS[0])
    crash_when_confirming(monkeypatch, "gym_logins")
    with pytest.raises(SimulatedCrashError):
        extract_all(spark, config, extract, fs, no_secrets)
    assert store.load() == ExtractState(None, Increment("gym_logins", None, 20))
    first = landed_rows(config, "gym_logins")
    assert {name: len(rows) for name, rows in first.items()} == {"gym_logins-start-20.csv": 7}

    # The stream ingests the landed file before anyone re-runs the extract.
    land(config, SETS[0], OTHER_SOURCES)
    pipeline.run(spark, config)
    assert_as_expected(spark, config, 1)
    # The claim deterministic names rest on: a file stream ingests a name once, even when it is written again.
    name = "gym_logins-start-20.csv"
    target, hidden = f"{config.landing_path('gym_logins')}/{name}", f"{config.landing_path('gym_logins')}/.{name}"
    fs.put(hidden, fs.head(target), True)
    fs.mv(hidden, target)

    assert extract_all(spark, config, extract, fs, no_secrets) == [
        Delivery("gym_logins", None, 20, 0, target, written=False, recovered=True)
    ]
    assert store.load() == ExtractState(20) and landed_rows(config, "gym_logins") == first

    load_set(database, SETS[1])
    extract_all(spark, config, extract, fs, no_secrets)
    land(config, SETS[1], OTHER_SOURCES)
    pipeline.run(spark, config)

    files = landed_rows(config, "gym_logins")
    assert {name: len(rows) for name, rows in files.items()} == {name: 7, "gym_logins-20-30.csv": 5}
    bronze = [
        tuple(row)
        for row in spark.table(config.table("bronze", "gym_logins_bz")).drop("load_time", "source_file").collect()
    ]
    assert len(bronze) == len(set(bronze)) == 12  # each landed row once: 7 of set 1, 5 new or changed in set 2
    assert_as_expected(spark, config, 2)
