"""The benchmark's DuckDB anchor (benchmarks/duckdb_tables.py) against the shipped sets' manifests and full
expected rows.

Both come from the generator's ground truth, so the anchor is checked here independently of fitlake;
the benchmark then checks fitlake against the anchor on its larger data. No Spark: a few seconds.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from fitlake import contract
from fitlake.sample import shipped_sets_dir
from fitlake.sample.producer import set_files
from fitlake.sample.rows import read_expected
from fitlake.sample.spec import expected_folder, manifest_path, set_folder

ANCHOR_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "duckdb_tables.py"


def _load_anchor():  # noqa: ANN202 - a module loaded from a path (benchmarks/ is not a package)
    spec = importlib.util.spec_from_file_location("duckdb_tables", ANCHOR_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


anchor = _load_anchor()


def test_the_anchors_own_copies_of_the_contracts_constants_agree_with_it() -> None:
    """The anchor imports nothing from fitlake (it is a second reading of the rules), so it spells the topics and
    the epoch bounds itself: here they are held to the landing contract, their owner."""
    assert anchor.TOPICS == contract.TOPICS
    assert (anchor.EPOCH_SECONDS_BELOW, anchor.EPOCH_MILLIS_BELOW) == (
        contract.EPOCH_SECONDS_BELOW,
        contract.EPOCH_MILLIS_BELOW,
    )


def _land(landing: Path, sets: tuple[int, ...]) -> None:
    for set_no in sets:
        for source, path in set_files(set_folder(shipped_sets_dir(), set_no)):
            (landing / source).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, landing / source / path.name)


def _value(con: duckdb.DuckDBPyConnection, entry: dict) -> object:
    where = " AND ".join(f'"{column}" = ?' for column in entry["where"])
    column = "count(*)" if entry["column"] == "count" else f'"{entry["column"]}"'
    rows = con.execute(f'SELECT {column} FROM "{entry["table"]}" WHERE {where}', list(entry["where"].values()))
    value = rows.fetchall()[0][0]
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


@pytest.mark.parametrize("upto_set", [1, 2])
def test_the_anchor_computes_what_the_manifest_expects(tmp_path: Path, upto_set: int) -> None:
    manifest = json.loads(manifest_path(shipped_sets_dir(), upto_set).read_text())
    _land(tmp_path, tuple(range(1, upto_set + 1)))
    con = duckdb.connect()
    rows = anchor.recompute(
        con, tmp_path, date.fromisoformat(manifest["age_as_of"]), manifest["spec"]["max_workout_hours"]
    )
    expected = {name: count for name, count in manifest["tables"].items() if name in rows}
    assert len(expected) == len(anchor.TABLES) - 1  # every table the manifest counts (not user_deletes)
    assert {name: rows[name] for name in expected} == expected
    checked = [entry for entry in manifest["values"] if entry["table"] in rows]
    assert checked
    for entry in checked:
        actual = _value(con, entry)
        if "tolerance" in entry:
            assert abs(actual - entry["expected"]) <= entry["tolerance"], entry
        else:
            assert actual == entry["expected"], entry


def _comparable(row: tuple) -> tuple:
    """A row as the expected rows write it: timestamps and dates as text (to the microsecond where there is one),
    doubles rounded to the anchor's own comparison precision."""
    return tuple(
        value.isoformat(sep=" ") if isinstance(value, datetime)
        else value.isoformat() if isinstance(value, date)
        else round(value, anchor.DOUBLE_DECIMALS) if isinstance(value, float)
        else value
        for value in row
    )  # fmt: skip


@pytest.mark.parametrize("upto_set", [1, 2])
def test_the_anchor_computes_the_expected_rows_in_full(tmp_path: Path, upto_set: int) -> None:
    manifest = json.loads(manifest_path(shipped_sets_dir(), upto_set).read_text())
    _land(tmp_path, tuple(range(1, upto_set + 1)))
    con = duckdb.connect()
    anchor.recompute(con, tmp_path, date.fromisoformat(manifest["age_as_of"]), manifest["spec"]["max_workout_hours"])
    expected = read_expected(expected_folder(shipped_sets_dir(), upto_set))
    assert set(expected) - {t.name for t in anchor.TABLES} == {"silver.date_lookup"}  # the anchor's only gap
    for table in anchor.TABLES:
        want = expected[table.name]
        columns = ", ".join(f'"{c}"' for c in want.columns)
        found = con.execute(f'SELECT {columns} FROM "{table.name}"').fetchall()
        assert Counter(map(_comparable, found)) == Counter(map(_comparable, want.rows)), table.name


def test_compare_finds_a_changed_row_and_only_that_table(tmp_path: Path) -> None:
    _land(tmp_path / "landing", (1, 2))
    con = duckdb.connect()
    anchor.recompute(con, tmp_path / "landing", date(2026, 1, 1), 3)
    anchor.write(con, tmp_path / "ours")
    for table in anchor.TABLES:  # the export's layout: a folder of Parquet files per table
        (tmp_path / "theirs" / table.name).mkdir(parents=True)
        shutil.copy(tmp_path / "ours" / table.file, tmp_path / "theirs" / table.name / "part-0.parquet")
    assert all(c.equal for c in anchor.compare(tmp_path / "ours", tmp_path / "theirs"))

    changed = tmp_path / "theirs" / "gold.workout_bpm_summary" / "part-0.parquet"
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN row_number() OVER () = 1 THEN max_bpm + 1 ELSE max_bpm END AS max_bpm) "
        f"FROM read_parquet('{changed}')) TO '{tmp_path / 'changed.parquet'}' (FORMAT parquet)"
    )
    shutil.move(tmp_path / "changed.parquet", changed)
    differ = [c for c in anchor.compare(tmp_path / "ours", tmp_path / "theirs") if not c.equal]
    assert [(c.table, c.only_fitlake, c.only_duckdb) for c in differ] == [("gold.workout_bpm_summary", 1, 1)]
