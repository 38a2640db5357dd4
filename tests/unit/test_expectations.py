"""The full comparison of a table with its expected rows (fitlake.expectations.compare), on small DataFrames."""

from __future__ import annotations

import datetime as dt

import pytest

from fitlake.expectations import DOUBLE_DECIMALS, compare, expected_frame, expected_over_kafka
from fitlake.sample.rows import ExpectedTable

COLUMNS = ("user_id", "at", "bpm")
ROWS = ((1, "2023-03-10 12:00:00", 98.25), (2, "2023-03-10 12:00:30", 101.5))


def table(spark, *values: str):  # noqa: ANN201 - a DataFrame
    """An actual table of (user_id BIGINT, at TIMESTAMP, bpm DOUBLE, load_time TIMESTAMP) from SQL row literals."""
    rows = ", ".join(f"({v}, current_timestamp())" for v in values)
    return spark.sql(f"SELECT * FROM VALUES {rows} AS t(user_id, at, bpm, load_time)").selectExpr(
        "CAST(user_id AS BIGINT) AS user_id", "at", "CAST(bpm AS DOUBLE) AS bpm", "load_time"
    )


def expected(spark, actual, rows=ROWS):  # noqa: ANN001, ANN201
    return expected_frame(spark, ExpectedTable(COLUMNS, rows), actual.schema)


ROW_1 = "1, TIMESTAMP'2023-03-10 12:00:00', 98.25"
ROW_2 = "2, TIMESTAMP'2023-03-10 12:00:30', 101.5"


def test_equal_rows_compare_equal_on_the_expected_columns_only(spark):
    actual = table(spark, ROW_2, ROW_1)  # another order, and a load_time the expected rows do not hold
    result = compare("silver.t", expected(spark, actual), actual)
    assert result.equal
    assert (result.expected_rows, result.actual_rows, result.missing, result.extra) == (2, 2, 0, 0)
    assert str(result) == "silver.t: 2 rows expected, 2 found: equal"


def test_a_missing_row_is_named_with_its_values(spark):
    actual = table(spark, ROW_1)
    result = compare("silver.t", expected(spark, actual), actual)
    assert not result.equal
    assert (result.expected_rows, result.actual_rows, result.missing, result.extra) == (2, 1, 1, 0)
    missing = {"user_id": 2, "at": dt.datetime(2023, 3, 10, 12, 0, 30), "bpm": 101.5}
    assert result.missing_examples == (missing,) and result.extra_examples == ()
    assert "1 missing, 0 extra" in str(result) and f"  missing: {missing}" in str(result)


def test_an_extra_row_is_named_with_its_values(spark):
    actual = table(spark, ROW_1, ROW_2, "3, TIMESTAMP'2023-03-10 12:01:00', 99.0")
    result = compare("silver.t", expected(spark, actual), actual)
    assert (result.missing, result.extra) == (0, 1)
    assert result.extra_examples == ({"user_id": 3, "at": dt.datetime(2023, 3, 10, 12, 1), "bpm": 99.0},)


def test_a_duplicate_row_is_extra(spark):
    actual = table(spark, ROW_1, ROW_2, ROW_2)
    result = compare("silver.t", expected(spark, actual), actual)
    assert (result.actual_rows, result.missing, result.extra) == (3, 0, 1)
    assert [row["user_id"] for row in result.extra_examples] == [2]


def test_a_changed_value_is_one_missing_and_one_extra_row(spark):
    actual = table(spark, ROW_1, "2, TIMESTAMP'2023-03-10 12:00:31', 101.5")  # a second off: exact timestamps
    result = compare("silver.t", expected(spark, actual), actual)
    assert (result.missing, result.extra) == (1, 1)
    assert result.missing_examples[0]["at"] == dt.datetime(2023, 3, 10, 12, 0, 30)
    assert result.extra_examples[0]["at"] == dt.datetime(2023, 3, 10, 12, 0, 31)


@pytest.mark.parametrize(("offset", "equal"), [(10.0 ** -(DOUBLE_DECIMALS + 3), True), (1e-6, False)])
def test_doubles_are_compared_rounded(spark, offset, equal):
    average = 111.54285714285714
    actual = table(spark, f"1, TIMESTAMP'2023-03-10 12:00:00', {average + offset!r}D")
    rows = ((1, "2023-03-10 12:00:00", average),)
    assert compare("gold.t", expected(spark, actual, rows), actual).equal is equal


def test_examples_are_limited_and_sorted(spark):
    actual = table(spark, *[f"{n}, TIMESTAMP'2023-03-10 12:00:00', 60.0" for n in range(9, 2, -1)])
    result = compare("silver.t", expected(spark, actual, ()), actual, examples=3)
    assert (result.expected_rows, result.extra) == (0, 7)
    assert [row["user_id"] for row in result.extra_examples] == [3, 4, 5]


def test_over_kafka_the_quarantine_offset_is_not_compared():
    quarantine = ExpectedTable(("source", "raw", "topic", "partition", "offset"), (("heart_rate", "{}", "bpm", 1, 9),))
    users = ExpectedTable(("user_id",), ((1,),))
    adjusted = expected_over_kafka({"silver.quarantine": quarantine, "silver.users": users})
    assert adjusted["silver.quarantine"] == ExpectedTable(
        ("source", "raw", "topic", "partition"), (("heart_rate", "{}", "bpm", 1),)
    )
    assert adjusted["silver.users"] == users
