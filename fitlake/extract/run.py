"""The extract: every new or changed row of each source table lands once, as a CSV file per increment.

For each source, resumably:

1. A pending increment (planned by a run that crashed before confirming it) is finished first: its file
   is written unless it already landed, then it is confirmed.
2. Then, while rows with a mark above the saved mark exist: plan the next increment ``(low, high]`` and
   save it as pending; write its file under a hidden name and rename it; save ``high`` as the mark.

A crash between the file and the mark leaves the increment pending, and the re-run writes or finds the
same file name; a file stream ingests a name once, so no row is lost and none is delivered twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from pyspark.sql import DataFrame, SparkSession

from fitlake.config import PipelineConfig
from fitlake.extract import jdbc
from fitlake.extract.config import ExtractConfig, SecretGetter, SourceTable
from fitlake.extract.increment import Increment, csv_text, read_from
from fitlake.extract.schema import LANDING_COLUMNS
from fitlake.extract.state import ExtractState, StateStore


class FileSystem(Protocol):
    """What the extract needs of ``dbutils.fs`` (Databricks' or the local runtime's)."""

    def ls(self, path: str) -> list: ...

    def mkdirs(self, path: str) -> bool: ...

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool: ...

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool: ...


@dataclass(frozen=True)
class Delivery:
    """One increment's outcome: ``written`` False when its file had already landed (a crash was recovered)
    or the range held no rows any more (nothing to write)."""

    source: str
    low: int | None
    high: int
    rows: int
    file: str
    written: bool
    recovered: bool

    def as_dict(self) -> dict:
        return asdict(self)


DELIVERY_DDL = "source STRING, low BIGINT, high BIGINT, rows INT, file STRING, written BOOLEAN, recovered BOOLEAN"


def deliveries_frame(spark: SparkSession, deliveries: Sequence[Delivery]) -> DataFrame:
    """The deliveries as a DataFrame to display (explicit schema: ``low`` is NULL for a first increment)."""
    return spark.createDataFrame([tuple(asdict(delivery).values()) for delivery in deliveries], DELIVERY_DDL)


def state_path(config: PipelineConfig, source: str) -> str:
    return config.checkpoint(f"extract/{source}")


def extract_all(
    spark: SparkSession,
    config: PipelineConfig,
    extract: ExtractConfig,
    fs: FileSystem,
    get_secret: SecretGetter,
    sources: Sequence[str] = (),
) -> list[Delivery]:
    """Extract ``sources`` (default: every configured one) into the landing zone; return what landed."""
    options = extract.jdbc_options(get_secret)
    deliveries: list[Delivery] = []
    for source in sources or [table.source for table in extract.tables]:
        deliveries += extract_source(spark, config, extract, options, fs, source)
    return deliveries


def extract_source(
    spark: SparkSession,
    config: PipelineConfig,
    extract: ExtractConfig,
    options: dict[str, str],
    fs: FileSystem,
    source: str,
) -> list[Delivery]:
    table = extract.table(source)
    store = StateStore(spark, state_path(config, source), source)
    folder = config.landing_path(source)
    fs.mkdirs(folder)
    state = store.load()
    deliveries = []
    if state.pending is not None:
        deliveries.append(_land(spark, options, table, fs, folder, state.pending, recovering=True))
        state = store.save(ExtractState(state.pending.high))
    while (high := jdbc.next_high(spark, options, table, state.mark, extract.max_rows_per_file)) is not None:
        increment = Increment(source, read_from(state.mark, extract.overlap), high)
        store.save(ExtractState(state.mark, increment))
        deliveries.append(_land(spark, options, table, fs, folder, increment, recovering=False))
        state = store.save(ExtractState(high))
    return deliveries


def _land(
    spark: SparkSession,
    options: dict[str, str],
    table: SourceTable,
    fs: FileSystem,
    folder: str,
    increment: Increment,
    recovering: bool,
) -> Delivery:
    """Write the increment's file (hidden, then renamed) unless a crashed run already landed it."""
    target = f"{folder}/{increment.file_name}"
    if recovering and increment.file_name in {info.name for info in fs.ls(folder)}:
        return Delivery(increment.source, increment.low, increment.high, 0, target, False, True)
    rows = jdbc.increment_rows(spark, options, table, increment)
    if rows:
        hidden = f"{folder}/{increment.hidden_name}"
        # overwrite: a crashed run may have left a partial hidden file; the rename publishes it whole.
        fs.put(hidden, csv_text(LANDING_COLUMNS[increment.source], rows), True)
        fs.mv(hidden, target)
    return Delivery(increment.source, increment.low, increment.high, len(rows), target, bool(rows), recovering)
