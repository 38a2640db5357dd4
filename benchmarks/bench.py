"""Benchmark: what a ``fitlake run`` costs, as a user pays it (a cold process, JVM start included).

Every figure is a whole process timed from outside, repeated ``--repeat`` times on a lake restored from the
same template each time, and reported as median (min..max). Measured side by side in one invocation:

- ``session start``: a process that starts the local SparkSession and stops: the floor of any run;
- ``plain Spark pass``: read the landing files of the history, parse each Kafka topic, write one Delta table
  per source (no MERGE, no dedupe), same session settings: the floor of any Spark pipeline over this data;
- ``first run``: ``fitlake run`` (batch) of the history onto an empty lake;
- ``increment``: ``fitlake run`` of one more landed increment onto the processed history;
- ``no-op re-run``: ``fitlake run`` again with nothing new;
- ``increment, Nx history`` (``--deep N``, default 10; 1 leaves it out): the same increment onto a lake holding
  about N times the history: the size's history plus independent worlds of its size dated before it, processed
  once (not timed). Goal 3 asks it to cost at most 1.2x the increment onto 1x history;
- ``duckdb recompute``: the DuckDB anchor (``duckdb_tables.py``) computing every silver and gold table from scratch
  from the same landing files (history and increment), what an incremental run is up against (goal 4); with
  ``--deep``, also from the deep lake's files (``duckdb recompute, Nx``): at 1m that is goal 4's 10 M history;
- ``continuous latency`` (once, after the last round, on the processed lake; ``latency.py``): a continuous run with
  a 5 s trigger, small increments landed one at a time, seconds from landing to a gold commit, p50 and p95 (goal 5).

Once per invocation (after the first round of runs, not timed) the equality check compares DuckDB's tables with
fitlake's after the same data (fitlake's exported by ``export_tables.py``), on each lake: if any table differs,
the benchmark prints the tables and exits non-zero, since its figures would not compare the same work.

Sizes: ``small`` is the shipped sample sets (set 1 is the history, set 2 the increment, ~1.5 k Kafka lines
each). ``1m`` generates, with the project's generator, a history world of about a million heart-rate
readings (both of its sets landed) and an increment world of about 2 % of it that starts the day after the
history ends. Prints a table and writes the figures as JSON (``--json``). It asserts nothing: timings belong
here, never in tests.

With ``--baseline DIR`` (another checkout, such as ``git worktree add /tmp/base <commit>``), the three
``fitlake run`` figures are also timed with that checkout's code, interleaved run by run, and printed with
the ratio: a before/after measured in one invocation.

Run it: ``make bench`` (or ``.venv/bin/python benchmarks/bench.py --size small --repeat 3``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb_tables
import latency

from fitlake.contract import DATE_LOOKUP, KAFKA_MULTIPLEX
from fitlake.local.layout import DATA_ROOT_ENV_VAR, LocalLayout
from fitlake.parameters import ENVIRONMENT
from fitlake.sample.generator import generate, shipped_age_as_of, shipped_sets_dir
from fitlake.sample.producer import set_files
from fitlake.sample.spec import SETS, SampleSpec, set_folder

# History and increment per size: None is the shipped set; a spec is a generated world (both sets landed).
# 1m: 120 users, 4 days, a reading a second during workouts (~1.1 M readings); its increment: 12 users for
# 2 days at one reading every 2 s (~2.5 %), from the day after the history's last day.
SIZES: dict[str, tuple[SampleSpec | None, SampleSpec | None]] = {
    "small": (None, None),
    "1m": (
        SampleSpec(users=120, days=4, seed=11, bpm_interval_seconds=1),
        SampleSpec(users=12, days=2, seed=12, start_date="2023-03-11", bpm_interval_seconds=2),
    ),
}
# Increments landed one at a time into a continuous run, per size (each waits for gold, then two quiet triggers).
LANDINGS = {"small": 5, "1m": 10}
FITLAKE = [sys.executable, "-m", "fitlake.cli"]
PLAIN_PASS = Path(__file__).with_name("plain_pass.py")
DUCKDB_TABLES = Path(__file__).with_name("duckdb_tables.py")
EXPORT_TABLES = Path(__file__).with_name("export_tables.py")
SESSION_ONLY = (
    "from fitlake.local.layout import LocalLayout, resolve_data_root\n"
    "from fitlake.local.session import local_spark\n"
    "local_spark(LocalLayout(resolve_data_root(), 'dev')).stop()"
)


class Lake:
    """One data root at a fixed path, saved and restored whole (the metastore holds absolute paths).

    ``code`` is another checkout of fitlake to run instead of this one (a baseline commit), or None.
    """

    def __init__(self, work: Path, code: Path | None = None):
        self.root = work / "root"
        self.saved = work / "saved"
        self.env = {**os.environ, DATA_ROOT_ENV_VAR: str(self.root)}
        # ``python -m`` puts the working folder first on sys.path: run from the checkout whose code is timed.
        self.code = code or Path(__file__).resolve().parents[1]
        self.env["PYTHONPATH"] = str(self.code)

    def run(self, *args: str, log: Path) -> float:
        """Run a command with this data root; its seconds. A failing command stops the benchmark."""
        clock = time.monotonic()
        with log.open("ab") as out:
            done = subprocess.run(args, env=self.env, cwd=self.code, stdout=out, stderr=subprocess.STDOUT, check=False)
        seconds = time.monotonic() - clock
        if done.returncode:
            raise SystemExit(f"{' '.join(args)} failed (exit {done.returncode}); see {log}")
        return seconds

    def save(self, name: str) -> None:
        shutil.copytree(self.root, self.saved / name, symlinks=True)

    def restore(self, name: str) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.copytree(self.saved / name, self.root, symlinks=True)


def land(spec: SampleSpec | None, shipped_set: int, work: Path, landing: Path, prefix: str) -> int:
    """Land a shipped set, or both sets of a generated world (names prefixed: worlds reuse file names);
    returns the Kafka lines landed."""
    if spec is None:
        sets = [set_folder(shipped_sets_dir(), shipped_set)]
    else:
        if not (work / prefix).is_dir():  # generated once, landed in each lake
            generate(spec, work / prefix)
        sets = [set_folder(work / prefix, n) for n in SETS]
    lines = 0
    for set_dir in sets:
        for source, path in set_files(set_dir):
            if spec is not None and source == DATE_LOOKUP.name:
                continue  # the calendar is history: the shipped one is loaded before the first run
            (landing / source).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, landing / source / f"{prefix}-{path.name}")
            lines += sum(1 for _ in path.open("rb")) if source == KAFKA_MULTIPLEX.name else 0
    return lines


FIGURES = ("session start", "plain Spark pass", "first run", "increment", "no-op re-run", "duckdb recompute")
DEEP_FIGURES = ("increment, {n}x history", "duckdb recompute, {n}x")
HISTORY_START = date.fromisoformat(SampleSpec().start_date)
"""Where both sizes' history begins; the deep lake's extra worlds are dated before it, one after another."""


def deep_figures(deep: int) -> tuple[str, ...]:
    return tuple(name.format(n=deep) for name in DEEP_FIGURES) if deep > 1 else ()


def prepare(lake: Lake, size: str, work: Path, log: Path) -> dict[str, int]:
    """Land the history (saved), run it, land the increment (saved); the Kafka lines of each."""
    history, increment = SIZES[size]
    landing = LocalLayout(lake.root, ENVIRONMENT.default).landing
    history_lines = land(history, 1, work, landing, "history")
    lake.save("history-landed")
    return {"history": history_lines, "increment": run_then_land_increment(lake, increment, work, landing, log)}


def run_then_land_increment(lake: Lake, increment: SampleSpec | None, work: Path, landing: Path, log: Path) -> int:
    """Run the lake's landed history (not timed), then land the increment and save the lake: every timed run
    starts from that copy. Returns the increment's Kafka lines."""
    lake.run(*FITLAKE, "run", "--age-as-of", shipped_age_as_of(), log=log)
    lines = land(increment, 2, work, landing, "increment")
    lake.save("increment-landed")
    return lines


def prepare_deep(lake: Lake, size: str, deep: int, work: Path, log: Path) -> int:
    """A lake holding about ``deep`` times the size's history, processed, with the same increment landed (saved):
    the history, then independent worlds of the history's size (both sets, their own seeds), each dated before
    the last, until the Kafka lines reach ``deep`` times the history's. Returns the Kafka lines of history."""
    history, increment = SIZES[size]
    world = history or SampleSpec()
    landing = LocalLayout(lake.root, ENVIRONMENT.default).landing
    first = land(history, 1, work, landing, "history")
    lines, number, start = first, 0, HISTORY_START
    while lines < deep * first:
        number += 1
        # Registrations come up to 3 days before a world's first day: a gap of 4 days keeps worlds apart.
        start -= timedelta(days=world.days + 4)
        spec = replace(world, seed=1000 + number, start_date=start.isoformat())
        lines += land(spec, 1, work, landing, f"deep{number}")
    run_then_land_increment(lake, increment, work, landing, log)
    return lines


def duckdb_recompute(lake: Lake, out: Path) -> list[str]:
    """The DuckDB anchor's command over a lake's landing files, writing its tables to ``out``."""
    landing = LocalLayout(lake.root, ENVIRONMENT.default).landing
    return [sys.executable, str(DUCKDB_TABLES), str(landing), "--age-as-of", shipped_age_as_of(), "--out", str(out)]


def measure(
    size: str, repeat: int, work: Path, baseline: Path | None, landings: int, deep: int
) -> tuple[dict, dict[str, int], list[duckdb_tables.Comparison], dict]:
    """Times per figure, for this checkout ("fitlake") and, interleaved run by run, the baseline checkout; the
    equality check of DuckDB's tables against fitlake's, made once per lake, after the first round; and the
    continuous latency, measured once on this checkout's lake as the last round left it (processed)."""
    log = work / "bench.log"
    lakes = {"fitlake": Lake(work / "fitlake")}
    if baseline is not None:
        lakes["baseline"] = Lake(work / "baseline", baseline)
    lines = {name: prepare(lake, size, work, log) for name, lake in lakes.items()}
    deep_lake = Lake(work / "deep") if deep > 1 else None
    if deep_lake is not None:
        print(f"deep history: building a lake with about {deep}x the history (not timed)", flush=True)
        lines["fitlake"]["deep history"] = prepare_deep(deep_lake, size, deep, work, log)
    deep_increment, deep_recompute = deep_figures(deep) or (None, None)
    run = [*FITLAKE, "run", "--age-as-of", shipped_age_as_of()]
    landing = LocalLayout(lakes["fitlake"].root, ENVIRONMENT.default).landing
    anchor = duckdb_recompute(lakes["fitlake"], work / "duckdb")
    times: dict[str, dict[str, list[float]]] = {name: {} for name in lakes}
    comparisons: list[duckdb_tables.Comparison] = []
    for _ in range(repeat):
        for name, lake in lakes.items():
            figures = times[name]
            if name == "fitlake":
                figures.setdefault("session start", []).append(lake.run(sys.executable, "-c", SESSION_ONLY, log=log))
                figures.setdefault("plain Spark pass", []).append(
                    lake.run(sys.executable, str(PLAIN_PASS), str(landing), str(work / "plain"), log=log)
                )
            lake.restore("history-landed")
            figures.setdefault("first run", []).append(lake.run(*run, log=log))
            lake.restore("increment-landed")
            figures.setdefault("increment", []).append(lake.run(*run, log=log))
            figures.setdefault("no-op re-run", []).append(lake.run(*run, log=log))
            if name == "fitlake":
                # The same landing files, history and increment, all tables from scratch.
                figures.setdefault("duckdb recompute", []).append(lake.run(*anchor, log=log))
                if not comparisons:
                    comparisons = check_anchor(lake, work / "duckdb", work / "fitlake-tables", log)
            if name == "fitlake" and deep_lake is not None:
                deep_lake.restore("increment-landed")
                figures.setdefault(deep_increment, []).append(deep_lake.run(*run, log=log))
                deep_anchor = duckdb_recompute(deep_lake, work / "duckdb-deep")
                figures.setdefault(deep_recompute, []).append(deep_lake.run(*deep_anchor, log=log))
                if len(figures[deep_recompute]) == 1:
                    comparisons += check_anchor(deep_lake, work / "duckdb-deep", work / "deep-tables", log)
    ours = lakes["fitlake"]
    print("continuous latency: starting a continuous run on the processed lake", flush=True)
    continuous = latency.measure(ours.env, ours.code, ours.root, work, work / "continuous.log", landings)
    return times, lines["fitlake"], comparisons, continuous


def check_anchor(lake: Lake, duckdb_out: Path, exported: Path, log: Path) -> list[duckdb_tables.Comparison]:
    """Compare the tables DuckDB wrote with fitlake's after the same data (not timed); print the outcome, and
    stop the benchmark when a table differs: its figures would not compare the same work."""
    lake.run(sys.executable, str(EXPORT_TABLES), str(exported), *[t.name for t in duckdb_tables.TABLES], log=log)
    comparisons = duckdb_tables.compare(duckdb_out, exported)
    differ = [c for c in comparisons if not c.equal]
    gold = [c for c in comparisons if c.table.startswith("gold.")]
    print(f"DuckDB anchor vs fitlake ({lake.root.parent.name} lake): gold rows equal: "
          f"{'yes' if all(c.equal for c in gold) else 'NO'}; "
          f"{len(comparisons) - len(differ)} of {len(comparisons)} tables equal "
          f"({', '.join(f'{c.table} {c.fitlake_rows}' for c in gold)} rows)", flush=True)  # fmt: skip
    if differ:
        for c in differ:
            print(f"  {c.table}: fitlake {c.fitlake_rows} rows, duckdb {c.duckdb_rows}; {c.only_fitlake} only in "
                  f"fitlake, {c.only_duckdb} only in duckdb")  # fmt: skip
            for example in c.examples:
                print(f"    {example}")
        raise SystemExit(f"The DuckDB anchor's tables differ from fitlake's: {', '.join(c.table for c in differ)}")
    return comparisons


def report(
    times: dict,
    size: str,
    lines: dict[str, int],
    comparisons: list[duckdb_tables.Comparison],
    continuous: dict,
    deep: int,
) -> dict:
    ours = times["fitlake"]
    base = times.get("baseline", {})
    medians = {name: statistics.median(values) for name, values in ours.items()}
    floor, plain = medians["session start"], medians["plain Spark pass"]
    rows = []
    for name in FIGURES + deep_figures(deep):
        values = ours[name]
        row = {
            "figure": name, "median_s": round(medians[name], 2), "min_s": round(min(values), 2),
            "max_s": round(max(values), 2), "vs_session_start": round(medians[name] / floor, 2),
            "vs_plain_pass": round(medians[name] / plain, 2),
        }  # fmt: skip
        if name in base:
            row["baseline_median_s"] = round(statistics.median(base[name]), 2)
            row["vs_baseline"] = round(medians[name] / statistics.median(base[name]), 2)
        rows.append(row)
    print(f"\nfitlake benchmark, size {size} ({lines['history']} Kafka lines of history, {lines['increment']} in "
          f"the increment), {len(ours['first run'])} run(s) each, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"{'figure':<24} {'median s':>9} {'min..max s':>15} {'x session':>10} {'x plain':>8}"
          + (f" {'baseline s':>11} {'x baseline':>11}" if base else ""))  # fmt: skip
    for row in rows:
        spread = f"{row['min_s']:.1f}..{row['max_s']:.1f}"
        line = (f"{row['figure']:<24} {row['median_s']:>9.1f} {spread:>15} {row['vs_session_start']:>10.2f} "
                f"{row['vs_plain_pass']:>8.2f}")  # fmt: skip
        if "vs_baseline" in row:
            line += f" {row['baseline_median_s']:>11.1f} {row['vs_baseline']:>11.2f}"
        print(line)
    # Goal 4: an increment through fitlake (a cold run) against DuckDB recomputing every table from scratch.
    ratio = medians["increment"] / medians["duckdb recompute"]
    print(f"increment / duckdb recompute: {ratio:.2f} (goal 4: below 1 at 10 M history)")
    ratios = {"increment_vs_duckdb_recompute": round(ratio, 2)}
    if deep > 1:
        deep_increment, deep_recompute = (medians[name] for name in deep_figures(deep))
        ratios["deep_increment_vs_increment"] = round(deep_increment / medians["increment"], 2)
        ratios["deep_increment_vs_duckdb_recompute"] = round(deep_increment / deep_recompute, 2)
        multiple = lines["deep history"] / lines["history"]
        print(f"increment at {multiple:.1f}x history ({lines['deep history']} Kafka lines) / at 1x: "
              f"{ratios['deep_increment_vs_increment']:.2f} (goal 3: at most 1.2 at 10x)")  # fmt: skip
        print(f"increment at {multiple:.1f}x history / duckdb recompute of it: "
              f"{ratios['deep_increment_vs_duckdb_recompute']:.2f} (goal 4 at the 1m size: below 1)")  # fmt: skip
    latency.report(continuous)
    equal = {c.table: c.equal for c in comparisons}
    return {
        "size": size, "kafka_lines": lines, "cores": os.cpu_count(), "runs": times, "figures": rows,
        **ratios,
        "duckdb_anchor": {"gold_equal": all(v for k, v in equal.items() if k.startswith("gold.")), "tables": equal},
        "continuous_latency": continuous,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each figure (default 3)")
    parser.add_argument("--json", type=Path, help="write the figures here (default: beside the work folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (lakes and the log)")
    parser.add_argument(
        "--baseline", type=Path, help="another fitlake checkout (say, a git worktree of an earlier commit) timed "
        "beside this one on the same runs, interleaved"
    )  # fmt: skip
    parser.add_argument(
        "--deep", type=int, default=10, help="also time the increment onto about this many times the history, and "
        "DuckDB recomputing that lake's tables (default 10; 1 leaves them out)"
    )  # fmt: skip
    parser.add_argument(
        "--landings", type=int, help=f"increments landed into the continuous run (default per size: {LANDINGS})"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fitlake-bench-"))
    try:
        times, lines, comparisons, continuous = measure(
            args.size, args.repeat, work, args.baseline, args.landings or LANDINGS[args.size], args.deep
        )
        result = report(times, args.size, lines, comparisons, continuous, args.deep)
        target = args.json or work.with_name(f"{work.name}.json")
        target.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nFigures written to {target}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
