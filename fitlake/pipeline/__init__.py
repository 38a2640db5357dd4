"""Run the pipeline: every flow of the chosen layers, in batch or continuous mode.

Batch: flows run stage by stage with the availableNow trigger (stage N reads what stage N-1 wrote), and
``run`` returns when all are done. Continuous: every flow starts at once on the processing-time trigger
and runs until the timeout, an interrupt, or until something stops the queries; then all stop. A stopped
batch is never half-applied: each write is an atomic Delta commit and every write is idempotent, so a
restart resumes from the checkpoints and replays at most the interrupted batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fitlake.config import PipelineConfig
from fitlake.errors import ConfigError, FitlakeError
from fitlake.pipeline import bronze, gold, silver
from fitlake.pipeline.flow import Flow
from fitlake.streaming import BATCH, CONTINUOUS, Trigger
from fitlake.tables import BRONZE, GOLD, SILVER

FLOWS: tuple[Flow, ...] = (*bronze.FLOWS, *silver.FLOWS, *gold.FLOWS)
LAYERS = (BRONZE, SILVER, GOLD)
LANDING_SOURCES = ("registered_users", "gym_logins", "kafka_multiplex", "date_lookup")


def landing_folders(config: PipelineConfig) -> list[str]:
    """The landing folders the bronze streams watch; they must exist before the streams start."""
    return [config.landing_path(source) for source in LANDING_SOURCES]


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
        }


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
) -> RunSummary:
    """Run the flows of ``layers``; returns rows written per table and rows quarantined per source."""
    if mode not in (BATCH, CONTINUOUS):
        raise ConfigError(f"run_mode must be {BATCH!r} or {CONTINUOUS!r}, got {mode!r}.")
    layers = layers or list(LAYERS)
    flows = [flow for flow in FLOWS if flow.layer in layers]
    started = datetime.now(timezone.utc)
    versions = {flow.name: _version(spark, config, flow.name) for flow in flows}
    summary = RunSummary(mode=mode, layers=layers, started=started.isoformat(timespec="seconds"))
    clock = time.monotonic()
    if mode == BATCH:
        _run_batch(spark, config, flows, summary)
    else:
        summary.stopped_by = _run_continuous(spark, config, flows, timeout_seconds)
    summary.seconds = time.monotonic() - clock
    summary.tables = {name: _written_since(spark, config, name, version) for name, version in versions.items()}
    summary.quarantined = _quarantined_since(spark, config, layers, started)
    return summary


def _run_batch(spark: SparkSession, config: PipelineConfig, flows: list[Flow], summary: RunSummary) -> None:
    trigger = Trigger(BATCH)
    for stage in sorted({flow.stage for flow in flows}):
        clock = time.monotonic()
        queries = [(flow, flow.start(spark, config, trigger)) for flow in flows if flow.stage == stage]
        try:
            for flow, query in queries:
                query.awaitTermination()
                summary.flow_seconds[flow.name] = time.monotonic() - clock
        finally:
            _stop(query for _, query in queries)


def _run_continuous(spark: SparkSession, config: PipelineConfig, flows: list[Flow], timeout_seconds: float) -> str:
    trigger = Trigger(CONTINUOUS, config.processing_time)
    queries = [flow.start(spark, config, trigger) for flow in flows]
    deadline = time.monotonic() + timeout_seconds if timeout_seconds > 0 else None
    try:
        while True:
            failed = [query for query in queries if query.exception() is not None]
            if failed:
                raise FitlakeError(f"Stream {failed[0].name} failed: {failed[0].exception()}")
            if not any(query.isActive for query in queries):
                return "queries stopped"
            if deadline is not None and time.monotonic() >= deadline:
                return "timeout"
            time.sleep(1)
    except KeyboardInterrupt:
        return "interrupt"
    finally:
        _stop(queries)


def _stop(queries) -> None:  # noqa: ANN001 - any iterable of queries
    for query in list(queries):
        if query.isActive:
            query.stop()


def _table_for(config: PipelineConfig, flow_name: str) -> str:
    layer, name = flow_name.split(".")
    return config.table(layer, name)


def _version(spark: SparkSession, config: PipelineConfig, flow_name: str) -> int:
    from delta.tables import DeltaTable

    history = DeltaTable.forName(spark, _table_for(config, flow_name)).history(1).select("version").first()
    return -1 if history is None else history.version


def _written_since(spark: SparkSession, config: PipelineConfig, flow_name: str, version: int) -> dict[str, int]:
    """Rows inserted, updated and deleted by the commits after ``version`` (from the Delta log, no scan)."""
    totals = {"inserted": 0, "updated": 0, "deleted": 0}
    for metrics in _commit_metrics_since(spark, _table_for(config, flow_name), version):
        inserted = "numTargetRowsInserted" if "numTargetRowsInserted" in metrics else "numOutputRows"
        totals["inserted"] += int(metrics.get(inserted, 0) or 0)
        totals["updated"] += int(metrics.get("numTargetRowsUpdated", 0) or 0)
        totals["deleted"] += int(metrics.get("numTargetRowsDeleted", 0) or 0)
    return totals


def _commit_metrics_since(spark: SparkSession, table: str, version: int) -> list[dict[str, str]]:
    """The operation metrics of the commits after ``version``, newest first.

    Reads the newest commits only, more of them until ``version`` is reached: a whole-history read would
    make the summary of every run cost more as the table's history grows.
    """
    from delta.tables import DeltaTable

    history, limit = DeltaTable.forName(spark, table), 16
    while True:
        rows = history.history(limit).select("version", "operationMetrics").collect()
        newer = [row.operationMetrics or {} for row in rows if row.version > version]
        if len(newer) < len(rows) or len(rows) < limit:
            return newer
        limit *= 4


def _quarantined_since(
    spark: SparkSession, config: PipelineConfig, layers: list[str], started: datetime
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for layer in (BRONZE, SILVER):
        if layer not in layers:
            continue
        since = F.lit(started.strftime("%Y-%m-%d %H:%M:%S")).cast("timestamp")
        rows = (
            spark.table(config.table(layer, "quarantine")).where(F.col("load_time") >= since).groupBy("source").count()
        )
        counts.update({f"{layer}.{row.source}": row["count"] for row in rows.collect()})
    return counts
