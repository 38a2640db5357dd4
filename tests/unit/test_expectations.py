"""The full comparison of a table with its expected rows (fitlake.sample.expectations.compare), on small DataFrames."""

from __future__ import annotations

import pytest

from fitlake.sample.expectations import (
    DOUBLE_DECIMALS,
    compare,
    expected_frame,
    expected_over_kafka,
    not_compared_in_full,
)
from fitlake.sample.rows import ExpectedTable

COLUMNS = ("user_id", "at", "bpm")
ROWS = ((1, "2023-03-10 12:00:00", 98.25), (2, "2023-03-10 12:00:30", 101.5))


def table(spark, *values: str):  # noqa: ANN201 - a DataFrame
    """An actual table of (user_id BIGINT, at TIMESTAMP, bpm DOUBLE, load_time TIMESTAMP) from SQL row literals."""
    rows = ", ".join(f"({v}, current_timestamp())" for v in values)
    return spark.sql(f"SELECT * FROM VALUES {rows} AS t(user_id, at, bpm, load_time)").selectExpr(
        "CAST(user_id AS BIGINT) AS user_id", "at", "CAST(bpm AS DOUBLE) AS bpm", "load_time"
    )


def compared(spark, actual, rows=ROWS, **options):  # noqa: ANN001, ANN201 - a DataFrame; a TableComparison
    """``actual`` (as table silver.t) against ``rows`` expected."""
    (result,) = compare(
        {"silver.t": (expected_frame(spark, ExpectedTable(COLUMNS, rows), actual.schema), actual)}, **options
    )
    return result


ROW_1 = "1, TIMESTAMP'2023-03-10 12:00:00', 98.25"
ROW_2 = "2, TIMESTAMP'2023-03-10 12:00:30', 101.5"


def test_equal_rows_compare_equal_on_the_expected_columns_only(spark):
    actual = table(spark, ROW_2, ROW_1)  # another order, and a load_time the expected rows do not hold
    result = compared(spark, actual)
    assert result.equal
    assert (result.expected_rows, result.actual_rows, result.missing, result.extra) == (2, 2, 0, 0)
    assert str(result) == "silver.t: 2 rows expected, 2 found: equal"


def test_a_missing_row_is_named_with_its_values(spark):
    actual = table(spark, ROW_1)
    result = compared(spark, actual)
    assert not result.equal
    assert (result.expected_rows, result.actual_rows, result.missing, result.extra) == (2, 1, 1, 0)
    missing = {"user_id": 2, "at": "2023-03-10 12:00:30.000000", "bpm": 101.5}
    assert result.missing_examples == (missing,) and result.extra_examples == ()
    assert "1 missing, 0 extra" in str(result) and f"  missing: {missing}" in str(result)


def test_an_extra_row_is_named_with_its_values(spark):
    actual = table(spark, ROW_1, ROW_2, "3, TIMESTAMP'2023-03-10 12:01:00', 99.0")
    result = compared(spark, actual)
    assert (result.missing, result.extra) == (0, 1)
    assert result.extra_examples == ({"user_id": 3, "at": "2023-03-10 12:01:00.000000", "bpm": 99.0},)


def test_a_duplicate_row_is_extra(spark):
    actual = table(spark, ROW_1, ROW_2, ROW_2)
    result = compared(spark, actual)
    assert (result.actual_rows, result.missing, result.extra) == (3, 0, 1)
    assert [row["user_id"] for row in result.extra_examples] == [2]


def test_a_changed_value_is_one_missing_and_one_extra_row(spark):
    actual = table(spark, ROW_1, "2, TIMESTAMP'2023-03-10 12:00:31', 101.5")  # a second off: exact timestamps
    result = compared(spark, actual)
    assert (result.missing, result.extra) == (1, 1)
    assert result.missing_examples[0]["at"] == "2023-03-10 12:00:30.000000"
    assert result.extra_examples[0]["at"] == "2023-03-10 12:00:31.000000"


@pytest.mark.parametrize(("offset", "equal"), [(10.0 ** -(DOUBLE_DECIMALS + 3), True), (1e-6, False)])
def test_doubles_are_compared_rounded(spark, offset, equal):
    average = 111.54285714285714
    actual = table(spark, f"1, TIMESTAMP'2023-03-10 12:00:00', {average + offset!r}D")
    rows = ((1, "2023-03-10 12:00:00", average),)
    assert compared(spark, actual, rows).equal is equal


def test_examples_are_limited_and_sorted(spark):
    actual = table(spark, *[f"{n}, TIMESTAMP'2023-03-10 12:00:00', 60.0" for n in range(7, 0, -1)])
    result = compared(spark, actual, (), examples=3)
    assert (result.expected_rows, result.extra) == (0, 7)
    assert [row["user_id"] for row in result.extra_examples] == [1, 2, 3]


def test_over_kafka_the_quarantine_offset_is_not_compared():
    quarantine = ExpectedTable(("source", "raw", "topic", "partition", "offset"), (("heart_rate", "{}", "bpm", 1, 9),))
    users = ExpectedTable(("user_id",), ((1,),))
    adjusted = expected_over_kafka({"silver.quarantine": quarantine, "silver.users": users})
    assert adjusted["silver.quarantine"] == ExpectedTable(
        ("source", "raw", "topic", "partition"), (("heart_rate", "{}", "bpm", 1),)
    )
    assert adjusted["silver.users"] == users


def test_several_tables_are_compared_at_once_each_on_its_own(spark):
    actual = table(spark, ROW_1, ROW_2)
    same = expected_frame(spark, ExpectedTable(COLUMNS, ROWS), actual.schema)
    fewer = expected_frame(spark, ExpectedTable(COLUMNS, ROWS[:1]), actual.schema)
    nothing = spark.sql("SELECT 1 AS user_id").where("false")
    results = compare({"silver.b": (fewer, actual), "silver.a": (same, actual), "silver.c": (nothing, nothing)})
    assert [(r.table, r.expected_rows, r.actual_rows, r.extra) for r in results] == [
        ("silver.a", 2, 2, 0),
        ("silver.b", 1, 2, 1),
        ("silver.c", 0, 0, 0),
    ]


def test_the_manifest_keeps_only_what_is_not_compared_in_full():
    manifest = {
        "set": 1,
        "tables": {"bronze.quarantine": 2, "silver.users": 10},
        "values": [{"table": "silver.users", "where": {"user_id": 1}, "column": "device_id", "expected": 7}],
    }
    left = not_compared_in_full(manifest, {"silver.users": ExpectedTable(("user_id",), ((1,),))})
    assert left == {"set": 1, "tables": {"bronze.quarantine": 2}, "values": []}
