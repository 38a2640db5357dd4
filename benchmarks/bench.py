"""Benchmark: what a ``fitlake run`` costs, as a user pays it (a cold process, JVM start included).

Every figure is a whole process timed from outside, repeated ``--repeat`` times on a lake restored from the
same template each time, and reported as median (min..max). Measured side by side in one invocation:

- ``session start``: a process that starts the local SparkSession and stops: the floor of any run;
- ``plain Spark pass``: read the landing files of the history, parse each Kafka topic, write one Delta table
  per source (no MERGE, no dedupe), same session settings: the floor of any Spark pipeline over this data;
- ``first run``: ``fitlake run`` (batch) of the history onto an empty lake;
- ``increment``: ``fitlake run`` of one more landed increment onto the processed history;
- ``no-op re-run``: ``fitlake run`` again with nothing new.

Sizes: ``small`` is the shipped sample sets (set 1 is the history, set 2 the increment). Prints a table and
writes the figures as JSON (``--json``). It asserts nothing: timings belong here, never in tests.

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
from pathlib import Path

from fitlake.local.layout import DATA_ROOT_ENV_VAR
from fitlake.sample.generator import shipped_sets_dir

SIZES = ("small",)
FITLAKE = [sys.executable, "-m", "fitlake.cli"]
PLAIN_PASS = Path(__file__).with_name("plain_pass.py")
SESSION_ONLY = (
    "from fitlake.local.layout import LocalLayout, resolve_data_root\n"
    "from fitlake.local.session import local_spark\n"
    "local_spark(LocalLayout(resolve_data_root(), 'dev')).stop()"
)


def _age_as_of() -> str:
    return json.loads((shipped_sets_dir() / "manifest_set1.json").read_text())["age_as_of"]


class Lake:
    """One data root at a fixed path, saved and restored whole (the metastore holds absolute paths)."""

    def __init__(self, work: Path):
        self.root = work / "root"
        self.saved = work / "saved"
        self.env = {**os.environ, DATA_ROOT_ENV_VAR: str(self.root)}

    def run(self, *args: str, log: Path) -> float:
        """Run a command with this data root; its seconds. A failing command stops the benchmark."""
        clock = time.monotonic()
        with log.open("ab") as out:
            done = subprocess.run(args, env=self.env, stdout=out, stderr=subprocess.STDOUT, check=False)
        seconds = time.monotonic() - clock
        if done.returncode:
            raise SystemExit(f"{' '.join(args)} failed (exit {done.returncode}); see {log}")
        return seconds

    def save(self, name: str) -> None:
        shutil.copytree(self.root, self.saved / name, symlinks=True)

    def restore(self, name: str) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.copytree(self.saved / name, self.root, symlinks=True)


def measure(repeat: int, work: Path) -> dict[str, list[float]]:
    lake, log = Lake(work), work / "bench.log"
    run = [*FITLAKE, "run", "--age-as-of", _age_as_of()]
    lake.run(*FITLAKE, "produce", "--set", "1", log=log)
    lake.save("history-landed")
    lake.run(*run, log=log)
    lake.run(*FITLAKE, "produce", "--set", "2", log=log)
    lake.save("increment-landed")
    landing = lake.root / "dev" / "dbfs" / "fitlake" / "landing"
    times: dict[str, list[float]] = {name: [] for name in ("session start", "plain Spark pass", "first run",
                                                           "increment", "no-op re-run")}  # fmt: skip
    for _ in range(repeat):
        times["session start"].append(lake.run(sys.executable, "-c", SESSION_ONLY, log=log))
        lake.restore("history-landed")
        times["plain Spark pass"].append(
            lake.run(sys.executable, str(PLAIN_PASS), str(landing), str(work / "plain"), log=log)
        )
        times["first run"].append(lake.run(*run, log=log))
        lake.restore("increment-landed")
        times["increment"].append(lake.run(*run, log=log))
        times["no-op re-run"].append(lake.run(*run, log=log))
    return times


def report(times: dict[str, list[float]], size: str) -> dict:
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor, plain = medians["session start"], medians["plain Spark pass"]
    rows = []
    for name, values in times.items():
        rows.append({
            "figure": name, "median_s": round(medians[name], 2), "min_s": round(min(values), 2),
            "max_s": round(max(values), 2), "vs_session_start": round(medians[name] / floor, 2),
            "vs_plain_pass": round(medians[name] / plain, 2),
        })  # fmt: skip
    print(f"\nfitlake benchmark, size {size}, {len(next(iter(times.values())))} run(s) each, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")  # fmt: skip
    print(f"{'figure':<18} {'median s':>9} {'min..max s':>15} {'x session':>10} {'x plain':>8}")
    for row in rows:
        spread = f"{row['min_s']:.1f}..{row['max_s']:.1f}"
        print(f"{row['figure']:<18} {row['median_s']:>9.1f} {spread:>15} {row['vs_session_start']:>10.2f} "
              f"{row['vs_plain_pass']:>8.2f}")  # fmt: skip
    return {"size": size, "cores": os.cpu_count(), "runs": times, "figures": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each figure (default 3)")
    parser.add_argument("--json", type=Path, help="write the figures here (default: beside the work folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (lakes and the log)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fitlake-bench-"))
    try:
        result = report(measure(args.repeat, work), args.size)
        target = args.json or work.with_name(f"{work.name}.json")
        target.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nFigures written to {target}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
