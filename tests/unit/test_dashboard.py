"""The dashboard's aggregates on small DataFrames, and the figures drawn from known rows (and from none)."""

from __future__ import annotations

import datetime as dt

from matplotlib.collections import PathCollection
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from fitlake import dashboard
from fitlake.tables import TABLES

SUMMARY = next(spec.columns for spec in TABLES if spec.name == "workout_bpm_summary")
GYM = (
    "date DATE, gym BIGINT, mac_address STRING, workout_id BIGINT, session_id BIGINT, minutes_in_gym DOUBLE, "
    "minutes_exercising DOUBLE"
)
D1, D2, D3 = dt.date(2023, 3, 6), dt.date(2023, 3, 7), dt.date(2023, 3, 9)


def summary_row(workout: int, age: str, gender: str, low: float, avg: float, high: float) -> tuple:
    return (workout, 1, 10 + workout, age, gender, "Madison", "WI", low, avg, high, 5)


def test_heart_rate_is_the_mean_of_each_workouts_lowest_average_and_highest_per_age_bin_and_gender(spark):
    summary = spark.createDataFrame(
        [
            summary_row(1, "25-35", "F", 60.0, 80.0, 100.0),
            summary_row(2, "25-35", "F", 70.0, 90.0, 140.0),
            summary_row(3, "25-35", "M", 65.0, 85.0, 120.0),
            summary_row(4, "55-65", "F", 55.0, 75.0, 95.0),
        ],
        SUMMARY,
    )
    expected = spark.createDataFrame(
        [
            ("25-35", "F", 2, 65.0, 85.0, 120.0),
            ("25-35", "M", 1, 65.0, 85.0, 120.0),
            ("55-65", "F", 1, 55.0, 75.0, 95.0),
        ],
        "age STRING, gender STRING, workouts BIGINT, min_bpm DOUBLE, avg_bpm DOUBLE, max_bpm DOUBLE",
    )
    assertDataFrameEqual(dashboard.heart_rate_by_age_and_gender(summary), expected)


def test_gym_usage_counts_a_visit_with_two_workouts_once_and_adds_its_workouts(spark):
    gym = spark.createDataFrame(
        [
            (D1, 1, "aa", 1, 100, 60.0, 20.0),  # one visit, two workouts: 60 minutes in the gym, 20 + 25 exercising
            (D1, 1, "aa", 2, 100, 60.0, 25.0),
            (D1, 1, "bb", 1, 200, 30.0, 10.0),  # another device, same gym and day
            (D1, 2, "aa", 3, 100, 15.0, 5.0),  # another gym
            (D2, 1, "aa", 4, 101, 40.0, 35.0),  # another day
        ],
        GYM,
    )
    expected = spark.createDataFrame(
        [(D1, 1, 2, 90.0, 55.0), (D1, 2, 1, 15.0, 5.0), (D2, 1, 1, 40.0, 35.0)],
        "date DATE, gym BIGINT, visits BIGINT, minutes_in_gym DOUBLE, minutes_exercising DOUBLE",
    )
    assertDataFrameEqual(dashboard.gym_usage_per_day(gym), expected)


def test_workouts_per_day_counts_completed_workouts_by_their_start_date(spark):
    workouts = spark.createDataFrame(
        [
            (1, 1, 10, dt.datetime(2023, 3, 6, 23, 50), dt.datetime(2023, 3, 7, 0, 40)),  # counted on its start day
            (2, 1, 11, dt.datetime(2023, 3, 6, 8, 0), dt.datetime(2023, 3, 6, 9, 0)),
            (1, 2, 12, dt.datetime(2023, 3, 9, 7, 0), dt.datetime(2023, 3, 9, 7, 30)),
        ],
        "user_id BIGINT, workout_id BIGINT, session_id BIGINT, start_time TIMESTAMP, end_time TIMESTAMP",
    )
    expected = spark.createDataFrame([(D1, 2), (D3, 1)], "date DATE, workouts BIGINT")
    assertDataFrameEqual(dashboard.workouts_per_day(workouts), expected)


def test_last_days_keeps_the_days_up_to_the_latest_one_present(spark):
    daily = spark.createDataFrame([(D1, 2), (D2, 1), (D3, 4)], "date DATE, workouts BIGINT")
    expected = spark.createDataFrame([(D2, 1), (D3, 4)], "date DATE, workouts BIGINT")
    assertDataFrameEqual(dashboard.last_days(daily, 3), expected)  # the 7th, 8th (none) and 9th
    assertDataFrameEqual(dashboard.last_days(daily, 0), daily)


def test_heart_rate_figure_draws_a_bar_per_gender_and_age_bin_from_lowest_to_highest():
    rows = [
        Row(age="55-65", gender="F", workouts=1, min_bpm=55.0, avg_bpm=75.0, max_bpm=95.0),
        Row(age="under 18", gender="M", workouts=3, min_bpm=70.0, avg_bpm=90.0, max_bpm=150.0),
        Row(age="25-35", gender="F", workouts=2, min_bpm=65.0, avg_bpm=85.0, max_bpm=120.0),
    ]
    figure = dashboard.heart_rate_figure(rows)
    (ax,) = figure.get_axes()
    assert figure.get_suptitle() == dashboard.HEART_RATE_TITLE
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("age bin (years)", "heart rate (bpm)")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["under 18", "25-35", "55-65"]  # youngest first
    female, male = ax.containers
    assert [(bar.get_y(), bar.get_y() + bar.get_height()) for bar in female] == [(65.0, 120.0), (55.0, 95.0)]
    assert [(bar.get_y(), bar.get_y() + bar.get_height()) for bar in male] == [(70.0, 150.0)]
    assert [female.get_label(), male.get_label()] == ["F", "M"]
    averages = [list(line.get_ydata()) for line in ax.get_lines() if line.get_marker() == "o" and len(line.get_ydata())]
    assert averages == [[85.0, 75.0], [90.0]]
    assert sorted(t.get_text() for t in ax.texts) == ["n=1", "n=2", "n=3"]
    assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_marker() != "o"] == [0.5, 1.5]  # bin borders


def test_gym_figure_puts_one_point_per_gym_and_day_with_the_diagonal():
    rows = [
        Row(date=D1, gym=1, visits=2, minutes_in_gym=90.0, minutes_exercising=55.0),
        Row(date=D2, gym=1, visits=1, minutes_in_gym=40.0, minutes_exercising=35.0),
        Row(date=D1, gym=2, visits=1, minutes_in_gym=15.0, minutes_exercising=5.0),
    ]
    figure = dashboard.gym_figure(rows)
    (ax,) = figure.get_axes()
    assert figure.get_suptitle() == dashboard.GYM_TITLE
    assert ax.get_xlabel().startswith("minutes in the gym") and ax.get_ylabel().startswith("minutes exercising")
    points = {c.get_label(): c.get_offsets().tolist() for c in ax.collections if isinstance(c, PathCollection)}
    assert points == {"gym 1": [[90.0, 55.0], [40.0, 35.0]], "gym 2": [[15.0, 5.0]]}
    assert ax.get_title() == "one point per gym and day; 3 points over 2 day(s)"


def test_workouts_figure_draws_a_bar_per_day_in_date_order():
    figure = dashboard.workouts_figure([Row(date=D3, workouts=1), Row(date=D1, workouts=2)])
    (ax,) = figure.get_axes()
    (bars,) = ax.containers
    assert [bar.get_height() for bar in bars] == [2, 1]
    assert (figure.get_suptitle(), ax.get_ylabel()) == (dashboard.WORKOUTS_TITLE, "completed workouts")
    assert ax.get_title() == "2023-03-06 to 2023-03-09"


def test_every_figure_of_no_rows_says_there_is_no_data_yet():
    for draw in (dashboard.heart_rate_figure, dashboard.gym_figure, dashboard.workouts_figure):
        (ax,) = draw([]).get_axes()
        assert [text.get_text() for text in ax.texts] == [dashboard.NO_DATA]
        assert not ax.axison
