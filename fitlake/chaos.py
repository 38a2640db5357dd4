"""``fitlake chaos``: SIGKILL the driver again and again, restart it, and compare the lake with an uninterrupted one.

Two lakes (data roots) under one work folder get the same sample sets, landed set after set:

- the **reference** runs ``fitlake run`` (batch) once per set, never interrupted;
- the **chaos** lake runs the driver in the chosen mode, started in a process group of its own, and kills that
  whole group (the Python driver and its JVM) with SIGKILL:
  - at **crash points**: a flow named in ``points`` is killed right after its batch's writes committed and
    before Spark commits the batch (a point ``<flow>/<write>``: between two writes of its batch;
    ``fitlake.crash_points``, ``kill`` mode), the worst moment for exactly-once. The points are played on the last
    set, one restart each, each run landing a part of the set first, so that every flow named has a batch of new
    rows ahead of it that meets rows its tables already hold (a set with few files per source has too few parts
    for every flow: the points missed are reported);
  - at **seeded random moments** spread over the whole run: a uniform fraction of the reference's duration for
    that set (its JVM start, setup and every flow), ``kills`` of them spread over the sets.

  In continuous mode each restart first lands the next part of the set's files, so data arrives while runs
  come and go; the kills fall anywhere in a run's life. After its kills a set is finished by a run that is
  left alone: batch mode runs to its end; continuous mode runs until its timeout, then a batch run takes in
  what is left (it is the same replay from the same checkpoints).

Then every table of both lakes is read (Delta, by path) and compared as multisets of rows: equal row sets, no
duplicates, the same quarantine rows. ``load_time`` (when a row was written) is left out, and ``source_file``
compared by its name (the lakes' landing folders differ). The report gives kills, restarts, rows compared and
differences, which must be 0. Any run that fails by itself (not killed) fails the harness, naming its log.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fitlake import crash_points
from fitlake.contract import DATE_LOOKUP, KAFKA_MULTIPLEX
from fitlake.errors import FitlakeError
from fitlake.parameters import BATCH, CONTINUOUS, ENVIRONMENT
from fitlake.sample.generator import shipped_age_as_of, shipped_sets
from fitlake.sample.producer import set_files

FITLAKE = [sys.executable, "-m", "fitlake.cli"]
ENV = ENVIRONMENT.default
VOLATILE = "load_time"  # when a row was written: differs between any two lakes
FILE_COLUMN = "source_file"  # compared by file name: the two lakes land into different folders
PROCESSING_TIME = "2 seconds"  # continuous mode: a short trigger, so a run does work between kills
RUN_GUARD_SECONDS = 1800.0
RUN_HEADER = "=== "  # starts each run's part of the log: the command and its crash point
LOG_TAIL_LINES = 40  # a run left alone that has not ended by then has hung: the harness fails


@dataclass(frozen=True)
class ChaosPlan:
    """What to play: ``mode`` (batch | continuous), ``kills`` random kills over all sets, crash ``points`` (flow
    names or ``<flow>/<write>``: ``pipeline.CRASH_POINTS``; played on the last set), ``seed`` for the kill moments,
    ``sets`` (folders of sample sets, landed in order), all under ``work``."""

    work: Path
    mode: str = BATCH
    kills: int = 4
    points: tuple[str, ...] = ()
    seed: int = 1
    sets: tuple[Path, ...] = field(default_factory=shipped_sets)
    age_as_of: str = ""

    def __post_init__(self) -> None:
        if self.mode not in (BATCH, CONTINUOUS):
            raise FitlakeError(f"mode must be {BATCH!r} or {CONTINUOUS!r}, got {self.mode!r}.")
        if self.kills < 0 or not self.sets:
            raise FitlakeError("kills must be 0 or more, and there must be at least one sample set.")


@dataclass
class ChaosReport:
    mode: str
    random_kills: int = 0
    point_kills: int = 0
    restarts: int = 0
    ended_before_kill: int = 0
    points_missed: list[str] = field(default_factory=list)  # crash points whose flow had no batch in their run
    rows_compared: int = 0
    tables: list = field(default_factory=list)  # fitlake.sample.expectations.TableComparison, one per table

    @property
    def kills(self) -> int:
        return self.random_kills + self.point_kills

    @property
    def differences(self) -> int:
        return sum(table.missing + table.extra for table in self.tables)

    def as_text(self) -> str:
        lines = [
            f"chaos, {self.mode} mode: {self.kills} kills ({self.point_kills} at crash points, {self.random_kills} "
            f"at random moments), {self.restarts} restarts, {self.ended_before_kill} runs ended before their kill",
            f"rows compared with the uninterrupted lake: {self.rows_compared:,}; differences: {self.differences}",
        ]
        if self.points_missed:
            lines.append(f"crash points not reached (their flow had no batch in that run): {self.points_missed}")
        lines += [f"  {table}" for table in self.tables if not table.equal]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "mode": self.mode,
            "kills": self.kills,
            "point_kills": self.point_kills,
            "random_kills": self.random_kills,
            "restarts": self.restarts,
            "ended_before_kill": self.ended_before_kill,
            "points_missed": self.points_missed,
            "rows_compared": self.rows_compared,
            "differences": self.differences,
            "tables": {
                table.table: {"rows": table.expected_rows, "missing": table.missing, "extra": table.extra}
                for table in self.tables
            },
        }


class Lake:
    """One data root and its landing folder; runs the driver on them, each run's output appended to ``log``."""

    def __init__(self, root: Path, age_as_of: str):
        self.root, self.landing, self.log = root, root / "landing", root / "runs.log"
        self.age_as_of = age_as_of
        root.mkdir(parents=True, exist_ok=True)

    def land(self, files: Sequence[tuple[str, Path]]) -> None:
        """As the producer lands: each file under a hidden name, then renamed into place."""
        for source, path in files:
            folder = self.landing / source
            folder.mkdir(parents=True, exist_ok=True)
            hidden = folder / f".{path.name}.incoming"
            shutil.copyfile(path, hidden)
            os.replace(hidden, folder / path.name)

    def start(self, mode: str, crash_at: str = "", timeout_seconds: int = 0) -> subprocess.Popen:
        """The driver in a process group of its own (so a kill takes its JVM too)."""
        args = [*FITLAKE, "run", "--env", ENV, "--data-root", str(self.root), "--landing", f"file:{self.landing}"]
        args += ["--mode", mode, "--age-as-of", self.age_as_of]
        if mode == CONTINUOUS:
            args += ["--processing-time", PROCESSING_TIME, "--timeout", str(timeout_seconds)]
        env = {
            k: v for k, v in os.environ.items() if k not in (crash_points.CRASH_AFTER_BATCH, crash_points.CRASH_MODE)
        }
        if crash_at:
            env |= {crash_points.CRASH_AFTER_BATCH: crash_at, crash_points.CRASH_MODE: crash_points.KILL}
        with self.log.open("ab") as out:
            out.write(f"\n{RUN_HEADER}{' '.join(args[2:])} {crash_at and f'(crash point {crash_at})'}\n".encode())
            return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def run_alone(self, mode: str = BATCH, timeout_seconds: int = 0) -> float:
        """A run left alone to its end; its seconds. It must succeed."""
        clock = time.monotonic()
        process = self.start(mode, timeout_seconds=timeout_seconds)
        ended = _wait(process, RUN_GUARD_SECONDS)
        if ended is None:
            _kill_group(process)
            raise FitlakeError(f"A {mode} run did not end within {RUN_GUARD_SECONDS:.0f} s; {self.last_run()}")
        if ended != 0:
            raise FitlakeError(f"A {mode} run failed by itself (exit {ended}); {self.last_run()}")
        return time.monotonic() - clock

    def last_run(self, lines: int = LOG_TAIL_LINES) -> str:
        """Where the log is, and the end of its last run's output: a failure's cause, in the error itself (a CI
        run keeps the error and discards the work folder)."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        tail = text.rsplit(f"\n{RUN_HEADER}", 1)[-1].splitlines()[-lines:]
        return "\n".join([f"see {self.log}; the end of that run's output:", *tail])


def _wait(process: subprocess.Popen, seconds: float) -> int | None:
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group may have ended on its own meanwhile
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass(frozen=True)
class Reference:
    """The uninterrupted lake: its data root and the seconds of each set's run (the span random kills fall in)."""

    root: Path
    seconds: tuple[float, ...]


def build_reference(work: Path, sets: Sequence[Path], age_as_of: str = "") -> Reference:
    """Land each set and run it to its end, set after set, in a lake at ``work``."""
    lake = Lake(work, age_as_of or shipped_age_as_of())
    seconds = []
    for set_dir in sets:
        lake.land(set_files(set_dir))
        seconds.append(lake.run_alone())
    return Reference(work, tuple(seconds))


def play(plan: ChaosPlan, spark=None, reference: Reference | None = None) -> ChaosReport:  # noqa: ANN001
    """Play ``plan`` against ``reference`` (built under the work folder when not given; it must be of the same
    sets), then compare the lakes (in ``spark``, else a local session of the work folder's own)."""
    age_as_of = plan.age_as_of or shipped_age_as_of()
    reference = reference or build_reference(plan.work / "reference", plan.sets, age_as_of)
    if len(reference.seconds) != len(plan.sets):
        raise FitlakeError(f"The reference ran {len(reference.seconds)} sets; the plan lands {len(plan.sets)}.")
    chaos = Lake(plan.work / "chaos", age_as_of)
    rng = random.Random(plan.seed)
    report = ChaosReport(plan.mode)
    kills_per_set = _spread(plan.kills, len(plan.sets))
    for number, set_dir in enumerate(plan.sets):
        points = plan.points if number == len(plan.sets) - 1 else ()
        seconds = reference.seconds[number]
        _play_set(chaos, plan.mode, set_files(set_dir), seconds, kills_per_set[number], points, rng, report)
    report.tables = compare_lakes(reference.root, chaos.root, spark)
    report.rows_compared = sum(table.expected_rows for table in report.tables)
    return report


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def _play_set(
    lake: Lake,
    mode: str,
    files: list[tuple[str, Path]],
    reference_seconds: float,
    kills: int,
    points: tuple[str, ...],
    rng: random.Random,
    report: ChaosReport,
) -> None:
    """Land the set (part by part before each restart in continuous mode; in batch mode a part before each crash
    point's run, then the rest), play its crash points and random kills, then finish it with a run left alone."""
    if mode == CONTINUOUS:
        parts = _parts(files, len(points) + kills + 1)
    else:
        # A part of the set for each crash point's run, so that each has new rows for every flow: landed at once,
        # the flows running beside the first point's flow would finish their batches in that run, and later
        # points would find nothing to crash in. The rest is landed before the random kills.
        parts = [*_parts(files, len(points) + 1), *[[]] * kills]
    for part, point in zip(parts, points, strict=False):
        lake.land(part)
        _crash_at_point(lake, mode, point, reference_seconds, report)
    for part in parts[len(points) : len(points) + kills]:
        lake.land(part)
        _kill_at_random(lake, mode, rng.uniform(0.05, 1.0) * reference_seconds, report)
    lake.land(parts[-1])
    if mode == CONTINUOUS:
        lake.run_alone(CONTINUOUS, timeout_seconds=max(30, round(reference_seconds)))
    lake.run_alone(BATCH)


def _parts(files: list[tuple[str, Path]], count: int) -> list[list[tuple[str, Path]]]:
    """``files`` in ``count`` parts; the calendar (history the setup loads first) in the first. The sources take
    turns, Kafka records first (they feed most flows), so that every part carries a little of each and the
    crash points, played first, find batches to crash in."""
    calendar = [item for item in files if item[0] == DATE_LOOKUP.name]
    by_source: dict[str, list[tuple[str, Path]]] = {}
    for item in files:
        if item[0] != DATE_LOOKUP.name:
            by_source.setdefault(item[0], []).append(item)
    order = sorted(by_source, key=lambda source: (source != KAFKA_MULTIPLEX.name, source))
    turns = [by_source[source][i] for i in range(max(map(len, by_source.values()), default=0)) for source in order
             if i < len(by_source[source])]  # fmt: skip
    parts, start = [], 0
    for size in _spread(len(turns), count):
        parts.append(turns[start : start + size])
        start += size
    parts[0] = calendar + parts[0]
    return parts


def _crash_at_point(lake: Lake, mode: str, point: str, reference_seconds: float, report: ChaosReport) -> None:
    """A run that kills itself at ``point``; if the flow has no batch in it (nothing new), it is not killed."""
    process = lake.start(mode, crash_at=point)
    report.restarts += 1
    # A flow with nothing new in this run has no batch to crash in: batch mode then ends normally, continuous
    # mode waits; either way the point is missed (reported) and, in continuous mode, the run killed at random.
    ended = _wait(process, RUN_GUARD_SECONDS if mode == BATCH else 2 * reference_seconds + 60)
    if ended == -signal.SIGKILL:
        report.point_kills += 1
        return
    report.points_missed.append(point)
    if ended is None and mode == CONTINUOUS:
        _kill_group(process)
        report.random_kills += 1
    elif ended is None:
        _kill_group(process)
        raise FitlakeError(f"A batch run with crash point {point} did not end within {RUN_GUARD_SECONDS:.0f} s")
    elif ended != 0:
        raise FitlakeError(f"A run with crash point {point} failed by itself (exit {ended}); {lake.last_run()}")


def _kill_at_random(lake: Lake, mode: str, after_seconds: float, report: ChaosReport) -> None:
    process = lake.start(mode)
    report.restarts += 1
    ended = _wait(process, after_seconds)
    if ended is None:
        _kill_group(process)
        report.random_kills += 1
    elif ended == 0:
        report.ended_before_kill += 1
    else:
        raise FitlakeError(f"A {mode} run failed by itself (exit {ended}) before its kill; {lake.last_run()}")


def compare_lakes(reference_root: Path, chaos_root: Path, spark=None) -> list:  # noqa: ANN001 - TableComparisons
    """Every table of the two lakes as multisets of rows (``load_time`` left out, ``source_file`` by name)."""
    from pyspark.sql import functions as F

    from fitlake.local.layout import LocalLayout
    from fitlake.local.session import local_spark
    from fitlake.sample.expectations import compare
    from fitlake.tables import TABLES

    spark = spark or local_spark(LocalLayout(chaos_root.parent / "compare", ENV))

    def read(root: Path, schema: str, name: str):  # noqa: ANN202 - a DataFrame
        frame = spark.read.format("delta").load(str(LocalLayout(root, ENV).table_folder(schema, name)))
        columns = [
            F.element_at(F.split(F.col(c), "/"), -1).alias(c) if c == FILE_COLUMN else F.col(c)
            for c in frame.columns
            if c != VOLATILE
        ]
        return frame.select(*columns)

    frames = {
        f"{spec.schema}.{spec.name}": (
            read(reference_root, spec.schema, spec.name),
            read(chaos_root, spec.schema, spec.name),
        )
        for spec in TABLES
    }
    return compare(frames)
