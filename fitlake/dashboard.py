"""Charts of the gold outputs for analysts (``notebooks/09_dashboard``).

Two halves: small aggregates of the tables (pure DataFrame -> DataFrame, a few rows each, collected by the
notebook), and functions that draw a matplotlib ``Figure`` from those rows. The figures are built with the
object API, not ``pyplot``: nothing lands in pyplot's global list of open figures, so ``display(fig)`` shows
each one exactly once, on Databricks and in the local runtime. An empty input draws a figure that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib import colormaps
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fitlake.transforms.silver import AGE_BINS

NO_DATA = "No data yet: run the pipeline, then this notebook again."
FIGURE_SIZE = (10.0, 5.0)  # inches; at matplotlib's 100 dpi a 1000 x 500 pixel image
_AGE_ORDER = {label: position for position, (label, _) in enumerate(AGE_BINS)}

HEART_RATE_TITLE = "Heart rate per workout, by age bin and gender"
GYM_TITLE = "Minutes in the gym against minutes exercising, per gym and day"
WORKOUTS_TITLE = "Completed workouts per day"


def heart_rate_by_age_and_gender(summary: DataFrame) -> DataFrame:
    """gold.workout_bpm_summary per age bin and gender: the number of workouts and the mean, over those workouts,
    of each workout's lowest, average and highest heart rate (bpm)."""
    return summary.groupBy("age", "gender").agg(
        F.count(F.lit(1)).alias("workouts"),
        F.avg("min_bpm").alias("min_bpm"),
        F.avg("avg_bpm").alias("avg_bpm"),
        F.avg("max_bpm").alias("max_bpm"),
    )


def gym_usage_per_day(gym_summary: DataFrame) -> DataFrame:
    """gold.gym_summary per gym and day: visits, minutes in the gym and minutes exercising (sums).

    The view has one row per workout of a visit, each repeating the visit's ``minutes_in_gym``, so the visit's
    minutes are counted once. It has no login column: a visit is (date, gym, device, minutes in the gym), and two
    visits of one device to one gym on one day that last the very same time count as one.
    """
    visits = gym_summary.groupBy("date", "gym", "mac_address", "minutes_in_gym").agg(
        F.sum("minutes_exercising").alias("minutes_exercising")
    )
    return visits.groupBy("date", "gym").agg(
        F.count(F.lit(1)).alias("visits"),
        F.sum("minutes_in_gym").alias("minutes_in_gym"),
        F.sum("minutes_exercising").alias("minutes_exercising"),
    )


def workouts_per_day(completed_workouts: DataFrame) -> DataFrame:
    """silver.completed_workouts per day of their start (UTC): the number of completed workouts."""
    return completed_workouts.groupBy(F.to_date("start_time").alias("date")).agg(F.count(F.lit(1)).alias("workouts"))


def last_days(daily: DataFrame, days: int) -> DataFrame:
    """The rows of ``daily`` dated within ``days`` days up to its latest ``date`` (all rows when ``days`` <= 0)."""
    if days <= 0:
        return daily
    latest = daily.agg(F.max("date").alias("_latest"))
    in_range = F.col("date") > F.date_sub(F.col("_latest"), days)
    return daily.join(latest, how="cross").where(in_range).drop("_latest")


def heart_rate_figure(rows: Sequence[Any]) -> Figure:
    """Rows of ``heart_rate_by_age_and_gender``: per age bin, one bar per gender from the mean lowest to the mean
    highest heart rate of a workout, a dot at the mean average, and the number of workouts above."""
    figure, ax = _figure(HEART_RATE_TITLE)
    if not rows:
        return _no_data(figure, ax)
    ages = sorted({row["age"] for row in rows}, key=_age_position)
    genders = sorted({row["gender"] for row in rows}, key=lambda g: (g is None, str(g)))
    width = 0.8 / len(genders)
    colors = _colors(len(genders))
    for number, gender in enumerate(genders):
        mine = sorted((row for row in rows if row["gender"] == gender), key=lambda row: _age_position(row["age"]))
        x = [ages.index(row["age"]) - 0.4 + width * (number + 0.5) for row in mine]
        lows, highs = [row["min_bpm"] for row in mine], [row["max_bpm"] for row in mine]
        bars = ax.bar(
            x, [h - low for low, h in zip(lows, highs, strict=True)], width * 0.9, bottom=lows, color=colors[number]
        )
        bars.set_label(_label(gender))
        ax.plot(x, [row["avg_bpm"] for row in mine], "o", color="black", markersize=4)
        ax.bar_label(bars, labels=[f"n={row['workouts']}" for row in mine], fontsize=8, padding=2)
    ax.plot([], [], "o", color="black", markersize=4, label="mean average")
    for boundary in range(1, len(ages)):
        ax.axvline(boundary - 0.5, color="lightgrey", linewidth=1)  # a gender without workouts leaves a gap
    ax.set_xticks(range(len(ages)), [_label(age) for age in ages])
    ax.set_xlim(-0.5, len(ages) - 0.5)
    ax.set_xlabel("age bin (years)")
    ax.set_ylabel("heart rate (bpm)")
    ax.set_title("bar: mean lowest to mean highest of a workout; n: workouts", fontsize=9)
    ax.legend(title="gender", loc="upper right", fontsize=8)
    ax.use_sticky_edges = False  # room above and below the bars, not only above
    ax.margins(y=0.15)
    return figure


def gym_figure(rows: Sequence[Any]) -> Figure:
    """Rows of ``gym_usage_per_day``: one point per gym and day, minutes in the gym (x) against minutes
    exercising (y), one colour per gym; the diagonal is a visit spent exercising from login to logout."""
    figure, ax = _figure(GYM_TITLE)
    if not rows:
        return _no_data(figure, ax)
    gyms = sorted({row["gym"] for row in rows})
    colors = _colors(len(gyms))
    for number, gym in enumerate(gyms):
        mine = [row for row in rows if row["gym"] == gym]
        x, y = [row["minutes_in_gym"] for row in mine], [row["minutes_exercising"] for row in mine]
        ax.scatter(x, y, color=colors[number], label=f"gym {gym}", s=40, alpha=0.8)
    top = max(max(row["minutes_in_gym"], row["minutes_exercising"]) for row in rows) * 1.05
    ax.plot([0, top], [0, top], "--", color="grey", linewidth=1, label="exercising the whole visit")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("minutes in the gym (all visits of the day)")
    ax.set_ylabel("minutes exercising (workouts during those visits)")
    days = len({row["date"] for row in rows})
    ax.set_title(f"one point per gym and day; {len(rows)} points over {days} day(s)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    return figure


def workouts_figure(rows: Sequence[Any]) -> Figure:
    """Rows of ``workouts_per_day``: a bar per day with the number of completed workouts that started on it."""
    figure, ax = _figure(WORKOUTS_TITLE)
    if not rows:
        return _no_data(figure, ax)
    ordered = sorted(rows, key=lambda row: row["date"])
    bars = ax.bar([row["date"] for row in ordered], [row["workouts"] for row in ordered], width=0.8)
    ax.bar_label(bars, fontsize=8)
    first, last = ordered[0]["date"], ordered[-1]["date"]
    # A tick per day (at most ~12 ticks), at midnight: the centre of the day's bar.
    ax.xaxis.set_major_locator(DayLocator(interval=max(1, ((last - first).days + 1) // 12)))
    ax.xaxis.set_major_formatter(DateFormatter("%b %d"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("day the workout started (UTC)")
    ax.set_ylabel("completed workouts")
    ax.set_title(f"{first.isoformat()} to {last.isoformat()}", fontsize=9)
    ax.margins(y=0.15)
    return figure


def _figure(title: str) -> tuple[Figure, Any]:
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    figure.suptitle(title, fontsize=13, fontweight="bold")
    ax = figure.subplots()
    ax.grid(axis="y", alpha=0.3)
    return figure, ax


def _no_data(figure: Figure, ax: Any) -> Figure:
    figure.set_size_inches(FIGURE_SIZE[0], 1.5)
    ax.set_axis_off()
    ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=12, color="grey", transform=ax.transAxes)
    return figure


def _colors(count: int) -> list[Any]:
    palette = colormaps["tab10"]
    return [palette(number % palette.N) for number in range(count)]


def _age_position(age: str | None) -> tuple[int, str]:
    """Age bins in AGE_BINS order (youngest first), an unknown bin last."""
    return (_AGE_ORDER.get(age, len(_AGE_ORDER)), str(age))


def _label(value: Any) -> str:
    return "unknown" if value is None else str(value)
