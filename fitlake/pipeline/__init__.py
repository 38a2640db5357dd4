"""Run the pipeline: every flow of the chosen layers, in batch or continuous mode.

Batch: flows run with the availableNow trigger, each starting once the flows writing its input tables are done
(so it reads all they wrote), and ``run`` returns when all are done; a flow none of whose inputs changed since
its last batch run is left unstarted (``seen``). Continuous: every flow starts at once on the processing-time
trigger and runs until the timeout, an interrupt, or until something stops the queries; then all stop. A stopped
batch is never half-applied: each write is an atomic Delta commit and every write is idempotent, so a
restart resumes from the checkpoints and replays at most the interrupted batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from fitlake.config import PipelineConfig
from fitlake.contract import SOURCE_NAMES
from fitlake.errors import ConfigError, FitlakeError, StorageFullError, storage_full, storage_full_message
from fitlake.parameters import BATCH, CONTINUOUS
from fitlake.pipeline import bronze, checkpoints, gold, progress, seen, silver
from fitlake.pipeline.flow import Flow, waits_for
from fitlake.pipeline.lock import run_lock
from fitlake.streaming import (
    Trigger,
    commit_metrics_since,
    follow_interval,
    latest_commit,
    read_table,
    rows_added_by,
    stop_queries,
)
from fitlake.tables import BRONZE, GOLD, SILVER

FLOWS: tuple[Flow, ...] = (*bronze.FLOWS, *silver.FLOWS, *gold.FLOWS)
CRASH_POINTS = (*(flow.name for flow in FLOWS), *silver.WRITE_POINTS)
"""Where ``fitlake.crash_points`` can end a batch: after each flow's writes, and between two writes of a batch."""
LAYERS = (BRONZE, SILVER, GOLD)


def landing_folders(config: PipelineConfig) -> list[str]:
    """The landing folders the bronze streams watch; they must exist before the streams start."""
    return [config.landing_path(source) for source in SOURCE_NAMES]


@dataclass
class RunSummary:
    mode: str
    layers: list[str]
    started: str
    seconds: float = 0.0
    stopped_by: str = "completed"
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    flow_seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "mode": self.mode,
            "layers": self.layers,
            "started": self.started,
            "seconds": round(self.seconds, 2),
            "stopped_by": self.stopped_by,
            "tables": self.tables,
            "quarantined": self.quarantined,
            "flow_seconds": {k: round(v, 2) for k, v in self.flow_seconds.items()},
            "skipped": self.skipped,
        }

    def as_table(self) -> str:
        """Rows inserted, updated, deleted and quarantined, and seconds, per table: an aligned text table."""
        return progress.summary_table(self.as_dict())

    @classmethod
    def from_dict(cls, value: dict) -> RunSummary:
        """The summary ``as_dict`` gave (a layer notebook's exit value, parsed)."""
        return cls(**value)

    @classmethod
    def combine(cls, parts: list[RunSummary]) -> RunSummary:
        """One summary of runs made one after another (the driver's layer notebooks, in order): their layers,
        tables and quarantine counts together, started when the first started, seconds summed, and stopped by
        the first part that did not complete."""
        if not parts:
            raise ValueError("There is no summary to combine.")
        combined = cls(mode=parts[0].mode, layers=[], started=parts[0].started)
        for part in parts:
            if part.mode != combined.mode:
                raise ValueError(f"Cannot combine a {part.mode} run with a {combined.mode} run.")
            combined.layers += part.layers
            combined.seconds += part.seconds
            if combined.stopped_by == "completed":
                combined.stopped_by = part.stopped_by
            combined.tables.update(part.tables)
            combined.quarantined.update(part.quarantined)
            combined.flow_seconds.update(part.flow_seconds)
            combined.skipped += part.skipped
        return combined


def recover(spark: SparkSession, config: PipelineConfig, flow_name: str) -> str:
    """Rebuild the checkpoint of the flow named ``flow_name`` (``checkpoints.recover``), under the run lock;
    returns where the old checkpoint was moved ("" when there was none)."""
    flow = next((flow for flow in FLOWS if flow.name == flow_name), None)
    if flow is None:
        raise ConfigError(f"Unknown flow {flow_name!r}: choose from {', '.join(flow.name for flow in FLOWS)}.")
    with run_lock(spark, config, "recover"):
        return checkpoints.recover(spark, config, flow)


def parse_layers(text: str) -> list[str]:
    layers = [part.strip() for part in text.split(",") if part.strip()] or list(LAYERS)
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown:
        raise ConfigError(f"Unknown layer(s) {unknown}: choose from {', '.join(LAYERS)} (comma-separated).")
    return layers


def run(
    spark: SparkSession,
    config: PipelineConfig,
    *,
    mode: str = BATCH,
    layers: list[str] | None = None,
    timeout_seconds: float = 0,
    run_lock_token: str = "",
) -> RunSummary:
    """Run the flows of ``layers``; returns rows written per table and rows quarantined per source.

    One run per environment at a time (``lock``): a second run started meanwhile is refused, naming the first.
    With ``run_lock_token`` this run is part of one that holds the lock already (the driver's): it runs under
    that lock, and is refused unless the token is the live holder's.
    """
    if mode not in (BATCH, CONTINUOUS):
        raise ConfigError(f"run_mode must be {BATCH!r} or {CONTINUOUS!r}, got {mode!r}.")
    try:
        with run_lock(spark, config, mode, token=run_lock_token):  # each checkpoint has one writer
            return _run_locked(spark, config, mode, layers or list(LAYERS), timeout_seconds)
    except Exception as error:
        if isinstance(error, StorageFullError) or not storage_full(error):
            raise
        # A full disk fails a Spark write deep in the JVM; its stack says little to the user. The chain is
        # dropped so the message is what the user reads; Spark's log keeps the JVM's stack.
        raise StorageFullError(storage_full_message(f"the lake ({config.checkpoints})")) from None


def _run_locked(
    spark: SparkSession, config: PipelineConfig, mode: str, layers: list[str], timeout_seconds: float
) -> RunSummary:
    flows = [flow for flow in FLOWS if flow.layer in layers]
    started = datetime.now(timezone.utc)
    commits = Commits(spark)
    # Each table the run's flows write (``layer.name``), its full name and its version before the run.
    targets = {name: table for flow in flows for name, table in flow.targets(config).items()}
    versions = {name: commits.of(table)[0] for name, table in targets.items()}
    caught_up = silver.retire_derived_flows(spark, config) if SILVER in layers else ()
    for name in caught_up:
        commits.forget(targets[name])  # its readers must see the new commits
    quarantines = {
        layer: commits.of(config.table(layer, "quarantine")) for layer in (BRONZE, SILVER) if layer in layers
    }
    summary = RunSummary(mode=mode, layers=layers, started=started.isoformat(timespec="seconds"))
    clock = time.monotonic()
    tables = {flow.name: {table: versions[name] for name, table in flow.targets(config).items()} for flow in flows}
    with progress.reporting(spark, tables) as reporter:
        if mode == BATCH:
            _run_batch(spark, config, flows, summary, commits, reporter)
        else:
            summary.stopped_by = _run_continuous(spark, config, flows, timeout_seconds, reporter)
    summary.seconds = time.monotonic() - clock
    skipped = {name for flow in flows if flow.name in summary.skipped for name in flow.targets(config)}
    skipped -= set(caught_up)
    summary.tables = {
        name: _written_since(spark, table, versions[name]) if name not in skipped else _NOTHING_WRITTEN
        for name, table in targets.items()
    }
    changed = {
        layer: commit[0]
        for layer, commit in quarantines.items()
        if Commits(spark).of(config.table(layer, "quarantine")) != commit
    }
    summary.quarantined = _quarantined_since(spark, config, changed, started)
    return summary


class Commits:
    """Each table's newest commit, read once and read again only after a flow of this run wrote to it."""

    def __init__(self, spark: SparkSession):
        self._spark = spark
        self._known: dict[str, tuple[int, str]] = {}

    def of(self, table: str) -> tuple[int, str]:
        if table not in self._known:
            self._known[table] = latest_commit(self._spark, table)
        return self._known[table]

    def forget(self, table: str) -> None:
        self._known.pop(table, None)


class Running(NamedTuple):
    """A started flow: its inputs' state when it started, its query (and that query run's id, asked once), its start."""

    flow: Flow
    inputs: dict | None
    query: StreamingQuery
    run_id: str
    began: float


def _run_batch(
    spark: SparkSession,
    config: PipelineConfig,
    flows: list[Flow],
    summary: RunSummary,
    commits: Commits,
    reporter: progress.Reporter,
) -> None:
    """Each flow starts once the flows writing its input tables are done (``waits_for``), so it reads all they
    wrote in this run; flows that do not wait on each other run side by side. A flow with nothing new is left
    unstarted, and counts as done. The first failure stops the queries still running, and no other flow starts."""
    trigger, waits = Trigger(BATCH), waits_for(flows, config)
    pending, done = list(flows), set()
    running: list[Running] = []
    try:
        while pending or running:
            ready = [flow for flow in pending if set(waits[flow.name]) <= done]
            if ready:
                pending = [flow for flow in pending if flow not in ready]
                _start_ready(spark, config, ready, trigger, summary, commits, done, running)
                continue  # a flow left unstarted is done at once: the flows waiting on it may be ready now
            if not running:
                raise FitlakeError(f"Flows waiting on each other in a cycle: {', '.join(f.name for f in pending)}.")
            for entry in _ended(running, reporter):
                running.remove(entry)
                entry.query.awaitTermination()  # raises the query's failure
                reporter.settle(entry.run_id)
                summary.flow_seconds[entry.flow.name] = time.monotonic() - entry.began
                seen.remember(spark, config, entry.flow, entry.inputs)
                for table in entry.flow.targets(config).values():  # its readers, starting next, take its new commits
                    commits.forget(table)
                done.add(entry.flow.name)
    finally:
        stop_queries(entry.query for entry in running)
        for entry in running:
            for table in entry.flow.targets(config).values():
                commits.forget(table)


def _ended(running: list[Running], reporter: progress.Reporter) -> list[Running]:
    """The running flows whose queries have ended, as soon as Spark's listener tells so (no call into the JVM per
    look); where it tells nothing within its wait (no listener, or an event lost), each query is asked."""
    told = reporter.wait_for_end({entry.run_id for entry in running})
    if told:
        return [entry for entry in running if entry.run_id in told]
    return [entry for entry in running if not entry.query.isActive]


def _start_ready(
    spark: SparkSession,
    config: PipelineConfig,
    ready: list[Flow],
    trigger: Trigger,
    summary: RunSummary,
    commits: Commits,
    done: set[str],
    running: list[Running],
) -> None:
    """Start those of ``ready`` that have something new, adding them to ``running`` one by one (a flow that
    refuses to start, such as one with a landing file it cannot read, raises, and the caller stops those already
    running); mark the others skipped and done."""
    due = []
    for flow in ready:
        checkpoints.check(spark, config, flow)
        inputs = seen.inputs_state(spark, config, flow, commits.of)
        if seen.nothing_new(spark, config, flow, inputs):
            summary.skipped.append(flow.name)
            done.add(flow.name)
        else:
            due.append((flow, inputs))
    print(progress.start_line([flow.name for flow, _ in due], [flow.name for flow in ready if flow.name in done]))
    for flow, inputs in due:
        began = time.monotonic()
        query = flow.start(spark, config, trigger)
        running.append(Running(flow, inputs, query, query.runId, began))


def _run_continuous(
    spark: SparkSession, config: PipelineConfig, flows: list[Flow], timeout_seconds: float, reporter: progress.Reporter
) -> str:
    # Bronze looks for new input on the configured trigger; the flows after it follow faster (follow_interval).
    trigger = Trigger(CONTINUOUS, config.processing_time)
    following = Trigger(CONTINUOUS, follow_interval(config.processing_seconds))
    for flow in flows:
        checkpoints.check(spark, config, flow)
    heartbeat = progress.Heartbeat(config.processing_seconds, reporter.lags, print)
    queries = []
    try:
        for flow in flows:  # inside the try, as in a batch run: a refusal stops the queries already started
            queries.append(flow.start(spark, config, trigger if flow.layer == BRONZE else following))
        deadline = time.monotonic() + timeout_seconds if timeout_seconds > 0 else None
        while True:
            failed = [query for query in queries if query.exception() is not None]
            if failed:
                raise FitlakeError(f"Stream {failed[0].name} failed: {failed[0].exception()}")
            if not any(query.isActive for query in queries):
                return "queries stopped"
            if deadline is not None and time.monotonic() >= deadline:
                return "timeout"
            heartbeat.tick()
            time.sleep(1)
    except KeyboardInterrupt:
        return "interrupt"
    finally:
        stop_queries(queries)
        for query in queries:
            reporter.settle(query.runId)


_NOTHING_WRITTEN = progress.rows_written([])


def _written_since(spark: SparkSession, table: str, version: int) -> dict[str, int]:
    """Rows inserted, updated and deleted by the commits after ``version`` (from the Delta log, no scan)."""
    return progress.rows_written(commit_metrics_since(spark, table, version))


def _quarantined_since(
    spark: SparkSession, config: PipelineConfig, layers: dict[str, int], started: datetime
) -> dict[str, int]:
    """Rows quarantined during the run per source, in the quarantine tables of ``layers`` (those written to during
    the run, each with its version before it: the others, unchanged, are not read). Counted from the statistics
    of the files the run's commits added (each append holds one source's rows); where they do not tell, by a
    query of the rows written since ``started``."""
    counts: dict[str, int] = {}
    for layer, version in layers.items():
        table = config.table(layer, "quarantine")
        logged = rows_added_by(spark, table, version, "source")
        if logged is not None:
            counts.update({f"{layer}.{source}": rows for source, rows in logged.items()})
            continue
        since = F.lit(started.strftime("%Y-%m-%d %H:%M:%S")).cast("timestamp")
        rows = read_table(spark, table).where(F.col("load_time") >= since).groupBy("source").count()
        counts.update({f"{layer}.{row.source}": row["count"] for row in rows.collect()})
    return counts
