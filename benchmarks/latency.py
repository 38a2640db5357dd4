"""Continuous-mode latency: how long a file landed while ``fitlake run --mode continuous`` runs takes to show in gold.

On a processed lake (a data root whose landed files a batch run has already taken in), start
``fitlake run --mode continuous --processing-time "<trigger> seconds"`` as a subprocess in its own process group,
wait until it is up (its first heartbeat line), then land ``landings`` small increments one at a time. Each
increment is the first set of a world from the project's generator (registrations, gym logins and Kafka lines
with completed workouts and their heart-rate readings), dated after everything the lake holds, and landed as
``fitlake.sample.producer`` lands: each file written under a hidden name, then renamed.

An increment is visible in gold when a new commit of ``gold.workout_bpm_summary`` that wrote rows (its
``operationMetrics``) appears in the table's ``_delta_log``, found by polling the folder: the metastore is an
embedded Derby database the running driver holds, so no second Spark process is started here. Latency = the
commit file's modification time minus the moment the increment's last file was renamed into place. The next
increment is landed only once the previous one is visible and gold has had no commit for two trigger intervals
(or its wait of ``HANG_GUARD_SECONDS`` is over, which
is reported, not raised). p95 over a handful of landings is the nearest-rank value (with fewer than 20, the
largest). Then the run is stopped with SIGINT (as Ctrl-C would), or its process group killed if it hangs.

It fails only when the continuous run itself fails (exits early or with an error). Runs alone::

    python benchmarks/latency.py DATA_ROOT [--landings 5] [--trigger-seconds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from fitlake.contract import DATE_LOOKUP
from fitlake.local.layout import DATA_ROOT_ENV_VAR, LocalLayout
from fitlake.parameters import ENVIRONMENT
from fitlake.sample.generator import generate
from fitlake.sample.producer import set_files
from fitlake.sample.spec import SETS, SampleSpec

GOLD_TABLE = "workout_bpm_summary"
GOAL_MARGIN_SECONDS = 5.0  # goal 5 of issue 9: visible within the trigger interval + 5 s (p95)
HANG_GUARD_SECONDS = 300.0  # an increment not in gold by then is reported as not seen
UP_GUARD_SECONDS = 600.0  # the run's start (setup notebooks, session) must print its first heartbeat by then
STOP_GUARD_SECONDS = 60.0  # after SIGINT, how long the run may take to stop its queries and exit
POLL_SECONDS = 0.2
# Increments are dated well after every size's history and increment (the latest ends 2023-03-12), a week apart.
FIRST_LANDING_DATE = date(2023, 4, 3)
LANDING_SPACING_DAYS = 7
LANDED_PREFIX = "latency"  # landed files are named latency<N>-<file>
FITLAKE = [sys.executable, "-m", "fitlake.cli"]


def gold_log(data_root: Path) -> Path:
    """The ``_delta_log`` folder of the gold summary table, under the lake's warehouse (found once)."""
    warehouse = LocalLayout(data_root, ENVIRONMENT.default).warehouse
    found = sorted(warehouse.glob(f"**/{GOLD_TABLE}/_delta_log"))
    if len(found) != 1:
        raise SystemExit(f"Expected one {GOLD_TABLE} table under {warehouse}, found {len(found)}: "
                         "run the pipeline once (batch) before measuring continuous latency.")  # fmt: skip
    return found[0]


def commits(log: Path) -> dict[int, Path]:
    """The table's commit files by version."""
    return {int(path.stem): path for path in log.glob("*.json") if path.stem.isdigit()}


def wrote_rows(commit: Path) -> bool:
    """Whether a commit inserted, updated or deleted rows (by its ``operationMetrics``)."""
    for line in commit.read_text().splitlines():
        info = json.loads(line).get("commitInfo") if line.strip() else None
        if info is not None:
            metrics = info.get("operationMetrics") or {}
            keys = ("numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted", "numOutputRows")
            return any(int(metrics.get(key, 0) or 0) > 0 for key in keys)
    return False


def increment_files(work: Path, number: int) -> list[tuple[str, Path]]:
    """(source, file) of increment ``number``: set 1 of a small generated world of its own (no calendar: the
    lake's covers it, and the summary does not read it)."""
    start = FIRST_LANDING_DATE + timedelta(days=LANDING_SPACING_DAYS * number)
    folder = work / f"latency-{number}"
    first_set = generate(SampleSpec(users=12, days=2, seed=100 + number, start_date=start.isoformat()), folder)[SETS[0]]
    return [(source, path) for source, path in set_files(first_set) if source != DATE_LOOKUP.name]


def land_atomically(files: list[tuple[str, Path]], landing: Path, prefix: str) -> float:
    """Land each file under a hidden name, then rename it into place (Spark's file source skips dot-files); the
    wall-clock time of the last rename."""
    for source, path in files:
        (landing / source).mkdir(parents=True, exist_ok=True)
        hidden = landing / source / f".{prefix}-{path.name}.incoming"
        hidden.write_bytes(path.read_bytes())
        os.replace(hidden, landing / source / f"{prefix}-{path.name}")
    return time.time()


class ContinuousRun:
    """``fitlake run --mode continuous`` in its own process group, its output copied to ``log``."""

    def __init__(self, env: dict[str, str], cwd: Path, trigger_seconds: int, timeout: int, log: Path):
        args = [*FITLAKE, "run", "--mode", "continuous", "--processing-time", f"{trigger_seconds} seconds"]
        args += ["--timeout", str(timeout)]
        self.up = threading.Event()
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            args, env={**env, "PYTHONUNBUFFERED": "1"}, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._log.write(line)
            self._log.flush()
            if line.lstrip().startswith(b"heartbeat"):
                self.up.set()

    def check(self) -> None:
        """Fail the benchmark when the run has ended: it is meant to run until stopped."""
        if self.process.poll() is not None:
            raise SystemExit(f"fitlake run --mode continuous ended early (exit {self.process.returncode}); see "
                             f"{self._log.name}")  # fmt: skip

    def wait_up(self) -> None:
        deadline = time.monotonic() + UP_GUARD_SECONDS
        while not self.up.wait(1):
            self.check()
            if time.monotonic() > deadline:
                raise SystemExit(f"fitlake run --mode continuous printed no heartbeat in {UP_GUARD_SECONDS:.0f} s; "
                                 f"see {self._log.name}")  # fmt: skip

    def stop(self) -> int | None:
        """SIGINT to the run (it stops its queries and exits); the whole group killed if it hangs. Its exit code."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(STOP_GUARD_SECONDS)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGTERM)
                    try:
                        self.process.wait(15)
                    except subprocess.TimeoutExpired:
                        self._signal_group(signal.SIGKILL)
                        self.process.wait()
            self._signal_group(signal.SIGKILL)  # whatever the run left behind (its JVM) goes with it
            return self.process.returncode
        finally:
            self._reader.join(5)
            self._log.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(self.process.pid, sig)


def wait_visible(run: ContinuousRun, log: Path, after: int, landed: float) -> float | None:
    """Seconds from ``landed`` to the first commit after version ``after`` that wrote rows; None past the guard."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    seen = after
    while time.monotonic() < deadline:
        run.check()
        for version, path in sorted(commits(log).items()):
            if version > seen:
                seen = version
                if wrote_rows(path):
                    return max(path.stat().st_mtime - landed, 0.0)
        time.sleep(POLL_SECONDS)
    return None


def settle(run: ContinuousRun, log: Path, quiet: float) -> None:
    """Wait until the gold table has had no new commit for ``quiet`` seconds (an increment can reach gold in more
    than one commit, as its readings and its users' profile bins arrive): the next landing's clock starts clean."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    newest, since = max(commits(log), default=-1), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        run.check()
        time.sleep(POLL_SECONDS)
        latest = max(commits(log), default=-1)
        if latest != newest:
            newest, since = latest, time.monotonic()


def nearest_rank(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)) - 1, 0)]


def measure(env: dict[str, str], cwd: Path, data_root: Path, work: Path, log: Path, landings: int = 5,
            trigger_seconds: int = 5) -> dict:  # fmt: skip
    """Latency of ``landings`` increments through a continuous run on the processed lake at ``data_root``."""
    table_log = gold_log(data_root)
    landing = LocalLayout(data_root, ENVIRONMENT.default).landing
    # Numbered after any increments an earlier measurement landed in this lake (fresh names, dates and keys), and
    # generated before the clock runs.
    first = len({path.name.split("-")[0] for path in landing.glob(f"*/{LANDED_PREFIX}*-*")})
    numbers = range(first, first + landings)
    increments = [(number, increment_files(work, number)) for number in numbers]
    timeout = int(UP_GUARD_SECONDS + landings * HANG_GUARD_SECONDS)  # a backstop: the run is stopped before
    run = ContinuousRun(env, cwd, trigger_seconds, timeout, log)
    seconds: list[float | None] = []
    try:
        run.wait_up()
        for count, (number, files) in enumerate(increments, start=1):
            after = max(commits(table_log), default=-1)
            landed = land_atomically(files, landing, f"{LANDED_PREFIX}{number}")
            seconds.append(wait_visible(run, table_log, after, landed))
            shown = "not visible" if seconds[-1] is None else f"{seconds[-1]:.1f} s"
            print(f"  continuous landing {count}/{landings}: {shown}", flush=True)
            if count < landings:
                settle(run, table_log, 2 * trigger_seconds)
        run.check()
    finally:
        code = run.stop()
    if code not in (0, None):
        raise SystemExit(f"fitlake run --mode continuous failed (exit {code}); see {log}")
    return summarize(seconds, trigger_seconds)


def summarize(seconds: list[float | None], trigger_seconds: int) -> dict:
    seen = [value for value in seconds if value is not None]
    return {
        "trigger_s": trigger_seconds, "goal_p95_s": trigger_seconds + GOAL_MARGIN_SECONDS, "landings": len(seconds),
        "not_visible": len(seconds) - len(seen), "hang_guard_s": HANG_GUARD_SECONDS,
        "seconds": [None if value is None else round(value, 2) for value in seconds],
        "p50_s": round(nearest_rank(seen, 50), 2) if seen else None,
        "p95_s": round(nearest_rank(seen, 95), 2) if seen else None, "p95_method": "nearest rank",
    }  # fmt: skip


def report(result: dict) -> None:
    seen = result["landings"] - result["not_visible"]
    if not seen:
        print(f"continuous latency: no landing reached gold within {result['hang_guard_s']:.0f} s")
        return
    print(f"continuous latency (file landed -> gold commit), {seen} of {result['landings']} landings, trigger "
          f"{result['trigger_s']} s: p50 {result['p50_s']:.1f} s, p95 {result['p95_s']:.1f} s (nearest rank"
          f"{', the max' if seen < 20 else ''}); goal 5: p95 <= {result['goal_p95_s']:.0f} s")  # fmt: skip
    if result["not_visible"]:
        print(f"  {result['not_visible']} landing(s) not visible in gold within {result['hang_guard_s']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_root", type=Path, help="a processed lake's data root (batch run done); it is changed")
    parser.add_argument("--landings", type=int, default=5)
    parser.add_argument("--trigger-seconds", type=int, default=5)
    args = parser.parse_args()
    code = Path(__file__).resolve().parents[1]
    env = {**os.environ, DATA_ROOT_ENV_VAR: str(args.data_root.resolve()), "PYTHONPATH": str(code)}
    with tempfile.TemporaryDirectory(prefix="fitlake-latency-") as work:
        log = Path(work) / "continuous.log"
        try:
            result = measure(env, code, args.data_root.resolve(), Path(work), log, args.landings, args.trigger_seconds)
        except SystemExit:
            print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
    report(result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
