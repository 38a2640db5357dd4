"""What a pipeline run shows while it works and when it is done.

While it works: a line as flows start, a line per micro-batch as it ends (flow, batch, rows read, rows
written, seconds) and, in continuous mode, a heartbeat per trigger interval with each flow's lag. When done:
the summary as one aligned table. Lines are printed: locally the notebook runtime shows them on the console;
on Databricks the micro-batch lines (printed from Spark's listener thread) go to the driver log and the rest
to the cell output.

Nothing here starts a Spark job: a batch's numbers come from its query progress and the rows it wrote from
its table's Delta log, read directly (where only a Spark job could read it, the rows are left to the summary).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from py4j.protocol import Py4JError
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQueryListener
from pyspark.sql.streaming.listener import (
    JStreamingQueryListener,
    QueryIdleEvent,
    QueryProgressEvent,
    QueryStartedEvent,
    QueryTerminatedEvent,
)

from fitlake.streaming import commit_metrics_after, delta_log_path, has_gateway

# How long to wait for a finished query's last progress events: Spark delivers them to listeners on its own
# thread, a little after the query ends. Only a lost event makes the wait this long.
SETTLE_SECONDS = 10.0
# How long a batch run waits for a query's end to be told before it asks the queries themselves: with a listener,
# only a lost event leaves it to ask (once per wait); without one (Spark Connect), asking is all it can do.
TOLD_WAIT_SECONDS = 1.0
UNTOLD_WAIT_SECONDS = 0.05
OFFSETS = ("startOffset", "endOffset", "latestOffset")
LAG_MEANS = "lag = offsets not yet read: Kafka records, Delta table versions, file-source batches"
SUMMARY_COLUMNS = ("table", "inserted", "updated", "deleted", "quarantined", "seconds")


def rows_written(metrics: Iterable[dict[str, str]]) -> dict[str, int]:
    """Rows inserted, updated and deleted by Delta commits, from their operation metrics (MERGEs report each
    kind; appends report ``numOutputRows``)."""
    totals = {"inserted": 0, "updated": 0, "deleted": 0}
    for commit in metrics:
        inserted = "numTargetRowsInserted" if "numTargetRowsInserted" in commit else "numOutputRows"
        totals["inserted"] += int(commit.get(inserted, 0) or 0)
        totals["updated"] += int(commit.get("numTargetRowsUpdated", 0) or 0)
        totals["deleted"] += int(commit.get("numTargetRowsDeleted", 0) or 0)
    return totals


def start_line(due: list[str], skipped: list[str]) -> str:
    """Flows whose inputs are done: ``start 4 flows (silver.users, ...), 1 skipped (nothing new: silver.gym_logs)``."""
    line = f"start {len(due)} flow{'' if len(due) == 1 else 's'}"
    if due:
        line += f" ({', '.join(due)})"
    if skipped:
        line += f", {len(skipped)} skipped (nothing new: {', '.join(skipped)})"
    return line


def batch_line(flow: str, batch_id: int, rows_read: int, written: int | None, seconds: float, width: int = 0) -> str:
    """One micro-batch: ``silver.users  batch 0  12 rows read  12 written  1.3 s`` (``?`` written: not known).

    Rows read are Spark's count (``numInputRows``): a flow whose handler reads its micro-batch twice (a MERGE's
    key bounds, then the MERGE) is counted twice, so it can exceed the rows the batch held.
    """
    shown = "?" if written is None else f"{written:,}"
    return f"  {flow:<{width}}  batch {batch_id:>3}  {rows_read:>9,} rows read  {shown:>9} written  {seconds:6.1f} s"


def source_lag(end_offset: str | None, latest_offset: str | None) -> int | None:
    """How far a source's read position (``endOffset``) trails the newest it knows of (``latestOffset``), in
    the source's own unit (see ``LAG_MEANS``); None when the offsets do not say."""
    end, latest = _positions(end_offset), _positions(latest_offset)
    if end is None or latest is None:
        return None
    return sum(max(position - end.get(key, 0), 0) for key, position in latest.items())


def _positions(offset: str | None) -> dict[str, int] | None:
    """A source offset as numbered positions: Delta's table version, the file source's log entry, or each Kafka
    topic partition's offset; None for any other shape."""
    try:
        parsed = json.loads(offset) if offset else None
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    for key in ("reservoirVersion", "logOffset"):
        if isinstance(parsed.get(key), int):
            return {key: parsed[key]}
    partitions = {
        f"{topic}/{partition}": position
        for topic, offsets in parsed.items()
        if isinstance(offsets, dict)
        for partition, position in offsets.items()
        if isinstance(position, int)
    }
    return partitions or None


def heartbeat_line(elapsed: float, lags: dict[str, int | None]) -> str:
    """One line per trigger interval in continuous mode: the flows behind their sources, the rest counted."""
    behind = [f"{flow} {lag:,}" for flow, lag in lags.items() if lag]
    unknown = [flow for flow, lag in lags.items() if lag is None]
    caught_up = len(lags) - len(behind) - len(unknown)
    parts = [f"heartbeat {elapsed:,.0f} s", f"behind: {', '.join(behind)}" if behind else "no flow behind"]
    parts.append(f"{caught_up} caught up")
    if unknown:
        parts.append(f"{len(unknown)} not reporting yet")
    return " | ".join(parts) + f" ({LAG_MEANS})"


def summary_table(summary: dict) -> str:
    """A run summary (``RunSummary.as_dict()``) as an aligned table: one row per table, then the totals.

    Quarantined rows are counted against the flow that quarantined them (named like its table); seconds is
    the flow's time from its query's start, ``skipped`` when it had nothing new, blank in continuous runs.
    """
    tables, quarantined = summary["tables"], summary["quarantined"]
    names = [*tables, *(name for name in quarantined if name not in tables)]
    rows, totals = [], dict.fromkeys(SUMMARY_COLUMNS[1:5], 0)
    for name in names:
        counts = {**tables.get(name, {}), "quarantined": quarantined.get(name, 0)}
        for column in totals:
            totals[column] += counts.get(column, 0)
        seconds = summary["flow_seconds"].get(name)
        shown = "skipped" if name in summary["skipped"] else "" if seconds is None else f"{seconds:.1f}"
        rows.append([name, *(f"{counts.get(column, 0):,}" for column in totals), shown])
    rows.append(["total", *(f"{value:,}" for value in totals.values()), f"{summary['seconds']:.1f}"])
    widths = [max(len(row[i]) for row in [list(SUMMARY_COLUMNS), *rows]) for i in range(len(SUMMARY_COLUMNS))]

    def line(cells: list[str]) -> str:
        first, *numbers = cells
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(numbers, widths[1:], strict=True))])

    rule = "-" * len(line(list(SUMMARY_COLUMNS)))
    title = f"{summary['mode']} run of {', '.join(summary['layers'])}: {summary['stopped_by']}"
    return "\n".join([title, line(list(SUMMARY_COLUMNS)), rule, *map(line, rows[:-1]), rule, line(rows[-1])])


def progress_event(progress_json: str) -> QueryProgressEvent:
    """A progress event from its JSON (``StreamingQueryProgress.json()``), read in one call into the JVM.

    pyspark's own conversion walks the Java object field by field, each map entry a call into the JVM and each
    map's end a Java exception turned into a Python one: about half a second per event on 2 busy cores. Events
    are delivered one after another on one thread, so a query's end waited behind the progress of the others.
    In the JSON a source's offsets are JSON values; they are kept as JSON text, as the Java object gives them.
    """
    progress = json.loads(progress_json)
    for source in progress.get("sources", []):
        for key in OFFSETS:
            if source.get(key) is not None and not isinstance(source[key], str):
                source[key] = json.dumps(source[key], separators=(",", ":"))
    return QueryProgressEvent.fromJson({"progress": progress})


class _ProgressFromJson(JStreamingQueryListener):
    """What Spark calls (through Py4J) for a Python listener, with progress events read from their JSON."""

    def onQueryProgress(self, jevent) -> None:  # noqa: ANN001, N802 - a Java QueryProgressEvent; Spark's API
        self.pylistener.onQueryProgress(progress_event(jevent.progress().json()))


class RunProgress(StreamingQueryListener):
    """Prints a line per micro-batch of the run's flows and keeps each flow's latest source lags.

    ``tables`` maps each flow (its query's name) to the tables it writes, each with its version before the run:
    the rows a batch wrote are those of their commits since the previous batch (each table has one writer).
    """

    def __init__(self, spark: SparkSession, tables: dict[str, dict[str, int]], report: Callable[[str], None]):
        super().__init__()
        self._spark, self._report = spark, report
        self._tables = {flow: list(versions) for flow, versions in tables.items()}
        self._versions = {table: version for versions in tables.values() for table, version in versions.items()}
        self._width = max((len(flow) for flow in tables), default=0)
        self._lags: dict[str, int | None] = dict.fromkeys(tables)
        self._ended: set[str] = set()
        self._flows: dict[str, str] = {}  # query id -> flow: an idle event names no query
        # table -> its Delta log, looked up at its flow's first batch. streaming._LOG_PATHS spares the catalog, not
        # the log's opening and refresh (~17 ms) that delta_log_path costs on each call: a batch line needs neither.
        self._logs: dict[str, str | None] = {}
        self._changed = threading.Condition()

    @property
    def _jlistener(self):  # noqa: ANN202 - the Java wrapper pyspark's addListener registers
        if not hasattr(self, "_jlistenerobj"):
            self._jlistenerobj = self._spark._jvm.PythonStreamingQueryListenerWrapper(_ProgressFromJson(self))
        return self._jlistenerobj

    def onQueryStarted(self, event: QueryStartedEvent) -> None:  # noqa: N802 - Spark's listener API
        self._flows[str(event.id)] = event.name

    def onQueryProgress(self, event: QueryProgressEvent) -> None:  # noqa: N802 - Spark's listener API
        progress = event.progress
        flow = progress.name
        if flow not in self._tables:
            return  # another query of this session
        seconds = progress.durationMs.get("triggerExecution", 0) / 1000
        self._report(
            batch_line(flow, progress.batchId, progress.numInputRows, self._written(flow), seconds, self._width)
        )
        lags = [source_lag(source.endOffset, source.latestOffset) for source in progress.sources]
        self._lags[flow] = None if None in lags else sum(lags)

    def onQueryIdle(self, event: QueryIdleEvent) -> None:  # noqa: N802 - Spark's listener API
        """A continuous query found nothing new at its trigger (Spark says so at most every 10 s): no lag."""
        flow = self._flows.get(str(event.id))
        if flow in self._lags:
            self._lags[flow] = 0

    def onQueryTerminated(self, event: QueryTerminatedEvent) -> None:  # noqa: N802 - Spark's listener API
        with self._changed:
            self._ended.add(str(event.runId))  # a run, not the query: a query may be started twice in a run
            self._changed.notify_all()

    def lags(self) -> dict[str, int | None]:
        """Each flow's lag at its latest batch (None before its first)."""
        return dict(self._lags)

    def settle(self, run_id: str) -> None:
        """Wait until the ended query run's last batch line is printed, so lines keep the order of events."""
        with self._changed:
            self._changed.wait_for(lambda: run_id in self._ended, timeout=SETTLE_SECONDS)

    def wait_for_end(self, run_ids: set[str]) -> set[str]:
        """Those of the query runs ``run_ids`` whose end Spark has told, waiting up to ``TOLD_WAIT_SECONDS`` for
        one; told after the run's last progress event, so its batch line is printed by then."""
        with self._changed:
            self._changed.wait_for(lambda: not self._ended.isdisjoint(run_ids), timeout=TOLD_WAIT_SECONDS)
            return self._ended & run_ids

    def _written(self, flow: str) -> int | None:
        """Rows the flow's tables got in the commits since the last look; None where that needs a Spark job."""
        counts = [self._written_to(table) for table in self._tables[flow]]
        return None if None in counts else sum(counts)

    def _written_to(self, table: str) -> int | None:
        try:
            if table not in self._logs:
                self._logs[table] = delta_log_path(self._spark, table)
            log_path = self._logs[table]
            metrics = None if log_path is None else commit_metrics_after(self._spark, log_path, self._versions[table])
        except Py4JError:
            return None  # the table went away mid-run: its line just lacks the count
        if metrics is None:
            return None
        self._versions[table] += len(metrics)  # one commitInfo per commit
        return sum(rows_written(metrics).values())


class NoProgress:
    """Stands in for ``RunProgress`` where no listener can be added here (Spark Connect runs them remotely)."""

    def lags(self) -> dict[str, int | None]:
        return {}

    def settle(self, run_id: str) -> None:
        pass

    def wait_for_end(self, run_ids: set[str]) -> set[str]:
        """Nothing is told here: wait a little, and the caller asks the queries."""
        time.sleep(UNTOLD_WAIT_SECONDS)
        return set()


Reporter = RunProgress | NoProgress


@contextmanager
def reporting(
    spark: SparkSession, tables: dict[str, dict[str, int]], report: Callable[[str], None] = print
) -> Iterator[Reporter]:
    """Micro-batch lines for the flows of ``tables`` (see ``RunProgress``) while the block runs.

    Spark Connect sessions (no JVM gateway here) run listeners on the server, where this process's printing
    and state do not reach: there a run shows its start lines and summary only.
    """
    if not has_gateway(spark):
        yield NoProgress()
        return
    progress = RunProgress(spark, tables, report)
    spark.streams.addListener(progress)
    try:
        yield progress
    finally:
        spark.streams.removeListener(progress)


class Heartbeat:
    """Prints ``heartbeat_line`` at most once per ``interval`` seconds, when ``tick`` is called."""

    def __init__(self, interval: float, lags: Callable[[], dict[str, int | None]], report: Callable[[str], None]):
        self._interval, self._lags, self._report = interval, lags, report
        self._started = self._last = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._report(heartbeat_line(now - self._started, self._lags()))
