"""Benchmark: does the cost of one batch run grow with the history already in the tables?

Generates ``--increments`` independent sample worlds of the same size, one after the other in time
(each starts the day after the previous one ends, with its own seed), lands each as one increment and
runs the pipeline in batch mode once per increment. If per-run cost does not grow with history, the
seconds per increment stay flat while the table sizes grow. Prints one row per increment: seconds per
layer, total seconds, rows landed and rows in the biggest tables afterwards.

Run it locally (needs ``make setup``)::

    .venv/bin/python benchmarks/increments.py --increments 4 --users 40 --days 4

Figures from a 2-core machine vary by a few seconds run to run; compare trends, not single values. The last
lines give the median seconds of each tenth of the increments, and the last tenth's against the second's (the
first also warms the session up): a cost that grows with the runs a lake has had (its checkpoints' and Delta logs'
lengths, the small files each run adds, the files landed) shows there. Spark keeps a query's last 100 batches, so
``--increments 100 --users 12 --days 2`` plays a lake's first hundred runs (each a small world of ~1,600 Kafka
lines; the history grows with them).
Increments are independent worlds, so a user id may repeat between two of them (ids are random); that
only merges two users' rows and does not change the cost being measured.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from fitlake import pipeline
from fitlake.config import load_config
from fitlake.contract import DATE_LOOKUP
from fitlake.local.layout import LocalLayout
from fitlake.local.session import local_spark
from fitlake.parameters import ENVIRONMENT
from fitlake.pipeline.history import load_date_lookup
from fitlake.sample.generator import generate
from fitlake.sample.producer import set_files
from fitlake.sample.spec import SampleSpec
from fitlake.tables import BRONZE, GOLD, SCHEMAS, SILVER, create_all

WATCHED = (f"{BRONZE}.kafka_multiplex_bz", f"{SILVER}.heart_rate", f"{SILVER}.workout_bpm")


def land_increment(spec: SampleSpec, work: Path, landing: Path, number: int) -> int:
    """Generate one world and copy both of its sets into the landing zone; return the files landed."""
    folders = generate(spec, work / f"world{number}")
    count = 0
    for folder in folders.values():
        for source, path in set_files(folder):
            if source == DATE_LOOKUP.name:
                continue  # the calendar is history, loaded once before the first run
            (landing / source).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, landing / source / f"w{number}-{path.name}")
            count += 1
    return count


def print_growth(totals: list[float]) -> None:
    """The median seconds of each tenth of the increments (each fifth, below 20), and the last part's against the
    second's: the first part also warms the session up."""
    parts = 10 if len(totals) >= 20 else 5
    if len(totals) < parts:
        return
    edges = [round(i * len(totals) / parts) for i in range(parts + 1)]
    medians = [statistics.median(totals[edges[i] : edges[i + 1]]) for i in range(parts)]
    spans = "; ".join(f"{edges[i] + 1}-{edges[i + 1]}: {median:.1f}" for i, median in enumerate(medians))
    part = "tenth" if parts == 10 else "fifth"
    print(f"median seconds of each {part} of the increments: {spans}")
    print(f"last {part} / second: {medians[-1] / medians[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--increments", type=int, default=4)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--days", type=int, default=4)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fitlake-bench-"))
    spark = local_spark(LocalLayout(work / "data-root", ENVIRONMENT.default), shuffle_partitions=2)
    for schema in SCHEMAS:
        spark.sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    landing = work / "landing"
    config = replace(
        load_config(spark, ENVIRONMENT.default, age_as_of="2026-01-01"),
        landing=f"file:{landing}",
        checkpoints=f"file:{work / 'checkpoints'}",
    )
    for folder in pipeline.landing_folders(config):
        Path(folder.removeprefix("file:")).mkdir(parents=True, exist_ok=True)
    create_all(spark, config)
    load_date_lookup(spark, config)

    header = f"{'increment':>9} {'files':>5} {'bronze s':>8} {'silver s':>8} {'gold s':>7} {'total s':>7}"
    print(f"{header}  table rows after")
    start = date(2023, 3, 6)
    totals = []
    for number in range(1, args.increments + 1):
        spec = SampleSpec(users=args.users, days=args.days, seed=100 + number, start_date=start.isoformat())
        files = land_increment(spec, work, landing, number)
        start += timedelta(days=args.days + 1)
        layer_seconds = {}
        clock = time.monotonic()
        for layer in (BRONZE, SILVER, GOLD):
            layer_clock = time.monotonic()
            pipeline.run(spark, config, layers=[layer])
            layer_seconds[layer] = time.monotonic() - layer_clock
        total = time.monotonic() - clock
        totals.append(total)
        sizes = ", ".join(f"{name}={spark.table(config.table(*name.split('.'))).count()}" for name in WATCHED)
        print(
            f"{number:>9} {files:>5} {layer_seconds[BRONZE]:>8.1f} {layer_seconds[SILVER]:>8.1f} "
            f"{layer_seconds[GOLD]:>7.1f} {total:>7.1f}  {sizes}",
            flush=True,
        )
    print_growth(totals)
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
