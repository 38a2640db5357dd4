"""Streaming reads, writes, triggers, checkpoints and MERGEs: the one place fitlake does streaming I/O.

A writer takes a small frozen ``StreamTarget`` (table, checkpoint, trigger) and returns the
``StreamingQuery``. MERGEs are idempotent by construction: each micro-batch is first reduced to one row per
key, then rows are inserted when absent and updated only when the source row is newer, so replaying a
batch after a crash changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from delta.tables import DeltaTable
from py4j.protocol import Py4JError
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery

from fitlake import crash_points, platform
from fitlake.contract import MAX_LINE_BYTES
from fitlake.parameters import BATCH, CONTINUOUS  # the run modes, named by the parameters' spec
from fitlake.transforms.checks import STRICT_JSON


@dataclass(frozen=True)
class Trigger:
    """``batch``: process what is available, then stop (availableNow). ``continuous``: keep running."""

    mode: str = BATCH
    processing_time: str = "10 seconds"

    def __post_init__(self) -> None:
        if self.mode not in (BATCH, CONTINUOUS):
            raise ValueError(f"Trigger mode must be {BATCH!r} or {CONTINUOUS!r}, got {self.mode!r}.")

    def options(self) -> dict[str, object]:
        return {"availableNow": True} if self.mode == BATCH else {"processingTime": self.processing_time}


FOLLOW_FACTOR = 5
"""In continuous mode, how many times as often as the trigger a flow that reads fitlake's own tables looks for new
rows (at most once a second): see ``follow_interval``."""


def follow_interval(processing_seconds: float) -> str:
    """The processing time of a continuous flow that reads fitlake's own tables, for a trigger of
    ``processing_seconds``.

    The trigger says how often fitlake looks for new input. Rows already taken in cross up to three more flows on
    their way to gold (bronze, then heart_rate or workouts, workout_bpm, gold), and on the trigger's interval
    each hop would wait up to a whole interval again. The following flows look ``FOLLOW_FACTOR`` times as often
    instead, but not more than once a second: a look at a table with nothing new is a listing of its Delta log.
    """
    seconds = min(processing_seconds, max(1.0, processing_seconds / FOLLOW_FACTOR))
    return f"{round(seconds * 1000)} milliseconds"


@dataclass(frozen=True)
class StreamTarget:
    table: str
    checkpoint: str
    trigger: Trigger = Trigger()
    query_name: str | None = None


@dataclass(frozen=True)
class MergeSpec:
    """How a micro-batch lands in a table.

    Attributes:
        keys: the natural key; each batch is first reduced to one row per key.
        order_by: the column that decides which row wins; None means insert-if-absent only.
        keep: ``latest`` (the greatest ``order_by`` wins) or ``earliest`` (the smallest wins).
        prune_by: a key column whose min/max over the batch bounds the target rows the MERGE may touch,
            so the cost of a batch does not grow with the table's history (Delta skips files by stats).
    """

    keys: tuple[str, ...]
    order_by: str | None = None
    keep: str = "latest"
    prune_by: str | None = None

    def __post_init__(self) -> None:
        if self.keep not in ("latest", "earliest"):
            raise ValueError(f"keep must be 'latest' or 'earliest', got {self.keep!r}")
        if self.prune_by is not None and self.prune_by not in self.keys:
            raise ValueError("prune_by must be one of the keys: only then can a match lie inside the bounds")


def latest_per_key(df: DataFrame, keys: Sequence[str], order_by: str, keep: str = "latest") -> DataFrame:
    """One row per key: the one with the greatest (or, ``earliest``, smallest) ``order_by``; ties broken
    deterministically by the other columns."""
    order = F.col(order_by).desc_nulls_last() if keep == "latest" else F.col(order_by).asc_nulls_last()
    window = Window.partitionBy(*keys).orderBy(order, *[F.col(c) for c in df.columns])
    return df.withColumn("_rank", F.row_number().over(window)).where(F.col("_rank") == 1).drop("_rank")


def merge_into(
    spark: SparkSession, updates: DataFrame, table: str, spec: MergeSpec, target_condition: str | None = None
) -> None:
    """Idempotent MERGE of ``updates`` into ``table``: insert if absent; update only when the source wins.

    ``target_condition`` (SQL on alias ``t``) narrows the target rows a match can be in, for pruning.
    """
    source = latest_per_key(updates, spec.keys, spec.order_by or spec.keys[0], spec.keep)
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in spec.keys)
    if target_condition:
        on += f" AND ({target_condition})"
    if spec.prune_by:
        # Bounds as strings rendered by Spark in the session time zone, read back the same way below. Taken
        # over ``updates``, not ``source``: the same values (prune_by is a key, and every key keeps a row),
        # without computing the one-row-per-key window twice (once here, once for the MERGE).
        span = bounds(updates, spec.prune_by)
        if span is None:
            return
        on += f" AND {target_between(spec.prune_by, span, source.schema[spec.prune_by].dataType)}"
    merge = DeltaTable.forName(spark, table).alias("t").merge(source.alias("s"), on)
    if spec.order_by:
        merge = merge.whenMatchedUpdateAll(condition=_source_wins(spec))
    merge.whenNotMatchedInsertAll().execute()


def _source_wins(spec: MergeSpec) -> str:
    """SQL: the source row ``s`` wins over the stored row ``t`` by ``spec.order_by`` (a value beats a null)."""
    wins = ">" if spec.keep == "latest" else "<"
    column = f"`{spec.order_by}`"
    return f"s.{column} {wins} t.{column} OR (t.{column} IS NULL AND s.{column} IS NOT NULL)"


def apply_changes(
    spark: SparkSession, changes: DataFrame, table: str, keys: Sequence[str], target_condition: str | None = None
) -> None:
    """Make ``table`` reflect ``changes``: one row per key with a boolean ``_deleted``; a deleted key is removed,
    any other is inserted, or replaced by the source row (the newest state, computed by the caller) when it
    differs, so an unchanged row writes nothing and its change feed stays quiet."""
    columns = [c for c in changes.columns if c != "_deleted"]
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    if target_condition:
        on += f" AND ({target_condition})"
    values = {f"`{c}`": f"s.`{c}`" for c in columns}
    differs = " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in columns if c not in keys) or "FALSE"
    (
        DeltaTable.forName(spark, table)
        .alias("t")
        .merge(changes.alias("s"), on)
        .whenMatchedDelete(condition="s._deleted")
        .whenMatchedUpdate(condition=differs, set=values)
        .whenNotMatchedInsert(condition="NOT s._deleted", values=values)
        .execute()
    )


def delete_matching(
    spark: SparkSession, doomed: DataFrame, table: str, keys: Sequence[str], target_condition: str | None = None
) -> None:
    """Delete the rows of ``table`` whose ``keys`` appear in ``doomed``."""
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    if target_condition:
        on += f" AND ({target_condition})"
    source = doomed.select(*keys).distinct()
    DeltaTable.forName(spark, table).alias("t").merge(source.alias("s"), on).whenMatchedDelete().execute()


def merge_with_tombstones(
    spark: SparkSession, upserts: DataFrame, tombstones: DataFrame, table: str, spec: MergeSpec, deleted: str
) -> None:
    """One MERGE that does what ``merge_into(upserts)`` then a delete of every row its key's tombstone outdates
    would do: the newest upsert of a key is inserted, or replaces the stored row where it wins (``spec``'s rule);
    a stored row whose ``spec.order_by`` is not newer than the key's tombstone (``tombstones``: the key and
    ``deleted``, one row per key) is deleted, a delete at the same instant as the update winning.

    ``upserts`` must hold only rows newer than their key's tombstone (the caller filters them): such a row both
    wins over any row the tombstone outdates and survives the tombstone, so the update clause, tried first, gives
    what the two statements in turn would. One MERGE instead of two: a MERGE is several Spark jobs and a commit.
    """
    (key,) = spec.keys
    order = spec.order_by
    live = latest_per_key(upserts, spec.keys, order, spec.keep).withColumn("_live", F.lit(True))
    # A tombstone without a key outdates no row: a null key is no user that was deleted.
    outdating = tombstones.where(F.col(key).isNotNull()).select(key, F.col(deleted).alias("_tombstone"))
    source = live.join(outdating, key, "full")
    values = {f"`{c}`": f"s.`{c}`" for c in upserts.columns}
    (
        DeltaTable.forName(spark, table)
        .alias("t")
        .merge(source.alias("s"), f"t.`{key}` <=> s.`{key}`")
        .whenMatchedUpdate(condition=f"s._live AND ({_source_wins(spec)})", set=values)
        .whenMatchedDelete(condition=f"s._tombstone >= t.`{order}`")
        .whenNotMatchedInsert(condition="s._live", values=values)
        .execute()
    )


def bounds(df: DataFrame, low: str, high: str | None = None) -> tuple[str, str] | None:
    """(min of ``low``, max of ``high``) over ``df`` as Spark renders them (session time zone), or None if empty."""
    return bounds_where(df, {"all": (F.lit(True), low, high or low)})["all"]


Span = tuple[Column, str, str]


def within(column: str, span: tuple[str, str]) -> Column:
    """``column`` inside a time span from ``bounds`` (both ends included): the rows a read pruned to that span must
    look at."""
    lo, hi = (F.lit(end).cast("timestamp") for end in span)
    return F.col(column).between(lo, hi)


def overlapping(start: str, end: str, span: tuple[str, str]) -> Column:
    """Intervals [``start``, ``end``] that reach into a time span from ``bounds``: ending at or after its start,
    starting before its end."""
    lo, hi = span
    return (F.col(end) >= F.lit(lo).cast("timestamp")) & (F.col(start) < F.lit(hi).cast("timestamp"))


@contextmanager
def persisted(frame: DataFrame) -> Iterator[DataFrame]:
    """``frame`` cached while the block reads it more than once, and released however the block ends."""
    frame = frame.persist()
    try:
        yield frame
    finally:
        frame.unpersist()


def bounds_where(df: DataFrame, spans: dict[str, Span]) -> dict[str, tuple[str, str] | None]:
    """``bounds`` of several subsets of ``df`` in one Spark job: for each name, (condition, low, high) gives
    (min of ``low``, max of ``high``) over the rows meeting the condition, or None when none does (nor has a
    non-null ``low``). One job instead of one per subset: each job costs a fixed ~0.2 s on a small machine."""
    columns = []
    for index, (condition, low, high) in enumerate(spans.values()):
        columns.append(F.min(F.when(condition, F.col(low))).cast("string").alias(f"lo{index}"))
        columns.append(F.max(F.when(condition, F.col(high))).cast("string").alias(f"hi{index}"))
    row = df.agg(*columns).first()
    found = {}
    for index, name in enumerate(spans):
        lo = None if row is None else row[f"lo{index}"]
        found[name] = None if lo is None else (lo, row[f"hi{index}"])
    return found


def target_between(column: str, span: tuple[str, str], kind: T.DataType | None = None) -> str:
    """SQL for a MERGE's target condition: the target row's ``column`` (alias ``t``) within ``span``, bounds from
    ``bounds`` of a column of type ``kind`` (a timestamp unless said), both ends included."""
    kind = kind or T.TimestampType()
    return f"t.`{column}` BETWEEN {_literal(span[0], kind)} AND {_literal(span[1], kind)}"


def _literal(text: str, kind: T.DataType) -> str:
    """A SQL literal for a bound computed from the batch (timestamps, dates and numbers only)."""
    if isinstance(kind, T.TimestampType):
        return f"TIMESTAMP'{text}'"
    if isinstance(kind, T.DateType):
        return f"DATE'{text}'"
    if isinstance(kind, T.NumericType):
        return text
    raise TypeError(f"cannot prune a MERGE by a {kind.simpleString()} column")


def merge_stream(stream: DataFrame, target: StreamTarget, spec: MergeSpec) -> StreamingQuery:
    """Stream ``stream`` into ``target.table`` with ``merge_into`` per micro-batch."""

    def upsert(batch: DataFrame, _batch_id: int) -> None:
        merge_into(batch.sparkSession, batch, target.table, spec)

    return for_each_batch(stream, target, upsert)


def append_stream(stream: DataFrame, target: StreamTarget) -> StreamingQuery:
    """Append ``stream`` to ``target.table`` (exactly once through the checkpoint)."""
    return _start(stream.writeStream.format("delta").outputMode("append"), target, to_table=True)


def _start(writer, target: StreamTarget, to_table: bool = False) -> StreamingQuery:  # noqa: ANN001
    writer = writer.option("checkpointLocation", target.checkpoint).trigger(**target.trigger.options())
    if target.query_name:
        writer = writer.queryName(target.query_name)
    return writer.toTable(target.table) if to_table else writer.start()


# Files of any age: the file source takes maxFileAge as a time string, and this is a century.
EVERY_FILE_AGE = "36500d"


def read_landing(spark: SparkSession, path: str, file_format: str, schema: str) -> DataFrame:
    """A stream of new landing files (each file once, tracked by the query's checkpoint).

    Auto Loader (``cloudFiles``) on Databricks, Spark's file source elsewhere: same schema, same options.
    Unreadable lines are kept in ``_corrupt_record`` (PERMISSIVE mode) for quarantine; every row carries
    ``source_file`` and ``load_time``. A CSV file's header line arrives as a row (see ``landing_options``).
    """
    if platform.on_databricks():
        reader = spark.readStream.format("cloudFiles").option("cloudFiles.format", file_format)
    else:
        # Spark's file source ignores a file modified more than maxFileAge (7 days by default) before the newest
        # file it has seen, without a word: a file copied with its timestamps kept (cp -p, rsync -t) would
        # never be read. (Auto Loader takes cloudFiles.* options of its own; it is left at their defaults.)
        reader = spark.readStream.format(file_format).option("maxFileAge", EVERY_FILE_AGE)
    return _stamped(reader.schema(schema).options(**landing_options(file_format)).load(path))


def read_landing_files(spark: SparkSession, paths: Sequence[str], file_format: str, schema: str) -> DataFrame:
    """The rows of some landing files as ``read_landing`` reads them, in a batch read."""
    return _stamped(spark.read.format(file_format).schema(schema).options(**landing_options(file_format)).load(paths))


def read_json_batch(spark: SparkSession, path: str, schema: str) -> DataFrame:
    """The rows of the JSON files under ``path`` in a batch read, as strict as the landing reader (no single
    quotes, no NaN): for input taken whole rather than streamed, such as the calendar."""
    return spark.read.schema(schema).options(**STRICT_JSON).json(path)


def landing_options(file_format: str) -> dict[str, str]:
    """The reader options for landing files of ``file_format`` (csv or json)."""
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record"}
    if file_format == "csv":
        # multiLine: a quoted field may hold CR or LF (fitlake.extract writes such values quoted). The line
        # reader would end the record at any CR or LF, even inside quotes, and read the rest as new rows.
        # The price: a CSV file is read by one task, not split (landing files are small increments).
        # No header option: with it Spark takes each file's first line for the header whatever it holds, so a
        # file without one loses its first row; bronze checks the header lines itself (csv_with_reason).
        # maxCharsPerColumn: a longer field fails the read instead of exhausting the memory.
        options.update({"header": "false", "multiLine": "true", "maxCharsPerColumn": str(MAX_LINE_BYTES)})
    if file_format == "json":
        # A Hadoop setting the reader takes from its options: a longer line is cut here (and then quarantined)
        # rather than held whole in memory.
        options.update({**STRICT_JSON, "mapreduce.input.linerecordreader.line.maxlength": str(MAX_LINE_BYTES)})
    return options


def _stamped(rows: DataFrame) -> DataFrame:
    source_file = F.col("_metadata.file_path").alias("source_file")
    return rows.select("*", source_file, F.current_timestamp().alias("load_time"))


def read_kafka(spark: SparkSession, options: dict[str, str]) -> DataFrame:
    """A stream of Kafka records (offsets tracked by the query's checkpoint), each with ``load_time``.

    ``options`` are the Kafka source's (``kafka.bootstrap.servers``, ``subscribe``, security ...); they may
    hold a password, so they are passed to Spark and never printed (Spark redacts them in plans and the UI).
    """
    return spark.readStream.format("kafka").options(**options).load().withColumn("load_time", F.current_timestamp())


def has_gateway(spark: SparkSession) -> bool:
    """Whether ``spark`` reaches its JVM through py4j (a classic session); Spark Connect's does not."""
    return getattr(spark, "_jvm", None) is not None


def _jvm_class(spark: SparkSession, name: str):  # noqa: ANN202 - a py4j JavaClass
    """The JVM class ``name`` (its full name) through the gateway, looked up by that name in one call. Not walked
    to as ``spark._jvm.org.apache...``: py4j asks the JVM about every step of such a walk, and each package on the
    way is a class lookup that fails only after searching every jar on the class path: ~1.5 ms a walk against
    ~0.1 ms (warm session, idle machine), and a small run made ~450 of them."""
    return getattr(spark._jvm, name)


def _hadoop_path(spark: SparkSession, path: str):  # noqa: ANN202 - a Hadoop Path JVM object
    return _jvm_class(spark, "org.apache.hadoop.fs.Path")(path)


def _hadoop_fs(spark: SparkSession, path: str):  # noqa: ANN202 - (FileSystem, Path) JVM objects, or None
    """Hadoop's file system for ``path`` through the JVM gateway; None without one (Spark Connect)."""
    if not has_gateway(spark):
        return None
    hadoop_path = _hadoop_path(spark, path)
    return hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration()), hadoop_path


def _on_this_disk(spark: SparkSession, path: str) -> Path | None:
    """``path`` as a path of this machine's own disk (a ``file:`` URI, in a session whose driver runs here), to
    list with Python's own calls; None for any other file system (DBFS, cloud storage), listed through Hadoop's.
    Each Hadoop call goes through the JVM gateway, and a listing makes several per file (its name, size, time):
    0.5–6 ms a file on 2 cores, and checkpoint logs of 100 batches or landing folders of thousands of files are
    listed on every run."""
    if not has_gateway(spark) or not path.startswith("file:"):
        return None
    return Path(urlparse(path).path)


def _checksum_file(name: str) -> bool:
    """Hadoop's local file system keeps a hidden ``.<name>.crc`` beside each file it writes, and leaves them out
    of its listings: so do the listings here."""
    return name.startswith(".") and name.endswith(".crc")


def _millis(stat: os.stat_result) -> int:
    """A modification time as Hadoop's local file system gives it: milliseconds, truncated."""
    return stat.st_mtime_ns // 1_000_000


def list_files(spark: SparkSession, folder: str) -> list[tuple[str, int, int]] | None:
    """(name, size, modification time) of each file directly in ``folder``, sorted; [] if it does not exist;
    None when the session cannot list (no JVM gateway), so the caller must assume anything changed."""
    local = _on_this_disk(spark, folder)
    if local is not None:
        if not local.is_dir():
            return []
        stats = [(e.name, e.stat()) for e in os.scandir(local) if e.is_file() and not _checksum_file(e.name)]
        return sorted((name, stat.st_size, _millis(stat)) for name, stat in stats)
    found = _hadoop_fs(spark, folder)
    if found is None:
        return None
    fs, path = found
    if not fs.exists(path):
        return []
    statuses = [s for s in fs.listStatus(path) if s.isFile()]
    return sorted((s.getPath().getName(), s.getLen(), s.getModificationTime()) for s in statuses)


def list_folders(spark: SparkSession, folder: str) -> list[str]:
    """Names of the folders directly in ``folder``, sorted; [] if it does not exist or the session cannot list."""
    local = _on_this_disk(spark, folder)
    if local is not None:
        return sorted(entry.name for entry in os.scandir(local) if entry.is_dir()) if local.is_dir() else []
    found = _hadoop_fs(spark, folder)
    if found is None or not found[0].exists(found[1]):
        return []
    fs, path = found
    return sorted(s.getPath().getName() for s in fs.listStatus(path) if s.isDirectory())


def clear_uncommitted_table_folder(spark: SparkSession, location: str) -> bool:
    """Remove ``location`` when it holds what a killed ``CREATE TABLE`` leaves and no row; return whether it did.

    A process killed inside ``CREATE TABLE`` leaves the table's folder without a metastore entry, and with a
    ``_delta_log`` that holds either only temporary files (the first commit not yet renamed into place) or the
    first commit alone (the metastore entry not yet made). Every later CREATE of that table then fails ("the
    location is not empty and also not a Delta table"), so one badly timed kill would stop every run after it.
    Such a folder holds no row: no data file beside the log, no commit after the CREATE, and the CREATE
    commit adds no file. Anything else is left for the CREATE to report.
    """
    found = _hadoop_fs(spark, location)
    if found is None:
        return False
    fs, path = found
    if not fs.exists(path) or any(s.getPath().getName() != "_delta_log" for s in fs.listStatus(path)):
        return False
    log = f"{location.rstrip('/')}/_delta_log"
    versions = [name for name, _, _ in list_files(spark, log) or [] if name[:1].isdigit() and ".crc" not in name]
    first = "0" * 20 + ".json"
    if versions and (versions != [first] or _adds_files(read_small_file(spark, f"{log}/{first}"))):
        return False
    return bool(fs.delete(path, True))


def _adds_files(commit: str) -> bool:
    """Whether a Delta commit (JSON lines, one action each) adds a data file."""
    return any(line.strip() and "add" in json.loads(line) for line in commit.splitlines())


def listing_digest(spark: SparkSession, folder: str) -> str | None:
    """A digest of every file under ``folder`` (recursively: relative path, size, modification time); the same
    digest means no file was added, removed or rewritten. None when the session cannot list (no JVM gateway)."""
    local = _on_this_disk(spark, folder)
    if local is not None:
        return _digest(_local_entries(local) if local.is_dir() else [])
    found = _hadoop_fs(spark, folder)
    if found is None:
        return None
    fs, path = found
    entries = []
    if fs.exists(path):
        root = fs.makeQualified(path).toString().rstrip("/")
        files = fs.listFiles(path, True)
        while files.hasNext():
            status = files.next()
            name = status.getPath().toString()[len(root) :]
            entries.append(f"{name}\t{status.getLen()}\t{status.getModificationTime()}")
    return _digest(entries)


def _local_entries(root: Path) -> list[str]:
    """``listing_digest``'s entries for a folder of this disk, as Hadoop's recursive listing gives them."""
    entries = []
    for folder, _, names in os.walk(root):
        for name in names:
            if not _checksum_file(name):
                path = os.path.join(folder, name)
                stat = os.stat(path)
                entries.append(f"/{os.path.relpath(path, root)}\t{stat.st_size}\t{_millis(stat)}")
    return entries


def _digest(entries: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()


def read_small_file(spark: SparkSession, path: str) -> str:
    """The text of a small file (a checkpoint's metadata): through Hadoop's file system where the session has
    a JVM gateway, which costs no Spark job (and checks the file against its checksum, as Spark's own reads do);
    else through a one-file Spark read (Spark Connect)."""
    found = _hadoop_fs(spark, path)
    if found is None:
        return "\n".join(row.value for row in spark.read.text(path).collect())
    fs, hadoop_path = found
    stream = fs.open(hadoop_path)
    try:
        return bytes(_jvm_class(spark, "org.apache.commons.io.IOUtils").toByteArray(stream)).decode("utf-8")
    finally:
        stream.close()


def write_small_file(spark: SparkSession, path: str, text: str) -> bool:
    """Write (or replace) a small file through Hadoop's file system; False when the session has no JVM gateway."""
    found = _hadoop_fs(spark, path)
    if found is None:
        return False
    fs, hadoop_path = found
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()
    return True


class HadoopFile:
    """One small file through Hadoop's file system (a lock, a marker): create only if absent, read, write,
    delete. Create-if-absent is what object stores (ABFS, DBFS) offer as an atomic conditional create."""

    def __init__(self, spark: SparkSession, fs, path):  # noqa: ANN001 - Hadoop FileSystem and Path (JVM)
        self._spark, self._fs, self._path = spark, fs, path

    def create_new(self, text: str) -> bool:
        """Create the file holding ``text``; False when it exists already."""
        try:
            stream = self._fs.create(self._path, False)
        except Py4JError as error:
            if "FileAlreadyExists" in str(error) or self._fs.exists(self._path):
                return False
            raise
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
        return True

    def read(self) -> str | None:
        return read_small_file(self._spark, self._path.toString()) if self._fs.exists(self._path) else None

    def write(self, text: str) -> None:
        write_small_file(self._spark, self._path.toString(), text)

    def delete(self) -> None:
        self._fs.delete(self._path, False)

    def exists(self) -> bool:
        return bool(self._fs.exists(self._path))

    def rename(self, target: str) -> bool:
        """Move this file or folder to ``target`` (on the same file system); False when it could not."""
        return bool(self._fs.rename(self._path, _hadoop_path(self._spark, target)))


def hadoop_file_ops(spark: SparkSession, path: str) -> HadoopFile | None:
    """``path`` as a ``HadoopFile``; None when the session has no JVM gateway (Spark Connect)."""
    found = _hadoop_fs(spark, path)
    return None if found is None else HadoopFile(spark, *found)


# Each table's Delta log, by table name, once looked up: a lookup through the catalog costs ~65 ms even in a warm
# session (the local metastore), and a run asks after each table several times (each flow's start and end, each
# batch's line, the summary). A managed table's location follows from its name, so it never moves; a table dropped
# since is looked up again (its log is then empty, or gone).
_LOG_PATHS: dict[str, str] = {}


def _delta_log(spark: SparkSession, table: str):  # noqa: ANN202 - Delta's DeltaLog JVM object, or None
    """Delta's log of ``table`` through the JVM gateway, brought up to date; None without a gateway, or where
    the Delta runtime does not offer it (Databricks names its classes differently): callers then ask
    DESCRIBE HISTORY, which is slower but public."""
    if not has_gateway(spark) or platform.on_databricks():
        return None
    none = _jvm_class(spark, "scala.Option").empty()
    try:
        known = _LOG_PATHS.get(table)
        if known is not None:
            delta_log = _jvm_class(spark, "org.apache.spark.sql.delta.DeltaLog")
            log = delta_log.forTable(spark._jsparkSession, _hadoop_path(spark, known))
            log.update(False, none, none)
            if log.unsafeVolatileSnapshot().version() >= 0:
                return log
        log = _jvm_class(spark, "io.delta.tables.DeltaTable").forName(spark._jsparkSession, table).deltaLog()
        log.update(False, none, none)
    except Py4JError:
        return None
    _LOG_PATHS[table] = log.dataPath().toString()
    return log


def latest_commit(spark: SparkSession, table: str) -> tuple[int, str]:
    """(version, timestamp) of a Delta table's newest commit; (-1, "") when it has none. The timestamp tells
    a table dropped and created again apart from the one before, whose versions it repeats.

    Read from the Delta log directly where possible: ``DeltaTable.history`` runs a Spark job per table
    (about 1 s each in a cold local session; a run asks for a dozen tables).
    """
    log = _delta_log(spark, table)
    if log is not None:
        snapshot = log.unsafeVolatileSnapshot()
        return (snapshot.version(), str(snapshot.timestamp())) if snapshot.version() >= 0 else (-1, "")
    row = DeltaTable.forName(spark, table).history(1).select("version", F.col("timestamp").cast("long")).first()
    return (-1, "") if row is None else (row.version, str(row.timestamp * 1000))


def commit_metrics_since(spark: SparkSession, table: str, version: int) -> list[dict[str, str]]:
    """The operation metrics of ``table``'s commits after ``version``.

    Only those commits are read (from their log files where the JVM is at hand): reading the whole history
    would make every run's summary cost more as the table's history grows.
    """
    metrics = logged_commit_metrics(spark, table, version)
    return _history_metrics_since(spark, table, version) if metrics is None else metrics


def logged_commit_metrics(spark: SparkSession, table: str, version: int) -> list[dict[str, str]] | None:
    """``commit_metrics_since`` read from the Delta log's files, which costs no Spark job; None where the log
    cannot be read that way (no JVM gateway, Databricks), so a caller that must not start a job can do without."""
    log_path = delta_log_path(spark, table)
    return None if log_path is None else commit_metrics_after(spark, log_path, version)


def delta_log_path(spark: SparkSession, table: str) -> str | None:
    """Where ``table``'s Delta log lies (a catalog lookup the first time in a process, then ``_LOG_PATHS``, and a
    log listing); None as for ``_delta_log``."""
    log = _delta_log(spark, table)
    return None if log is None else log.logPath().toString()


def commit_metrics_after(spark: SparkSession, log_path: str, version: int) -> list[dict[str, str]]:
    """The operation metrics of the commits after ``version`` in the Delta log at ``log_path`` (``delta_log_path``),
    oldest first: each commit's file is read in turn until the next is missing, so no catalog lookup and no
    listing (a listener asks after every micro-batch, on the thread that delivers every query's events)."""
    return [
        action["commitInfo"].get("operationMetrics") or {}
        for actions in _commits_after(spark, log_path, version)
        for action in actions
        if action.get("commitInfo") is not None
    ]


def rows_added_by(spark: SparkSession, table: str, version: int, column: str) -> dict[str, int] | None:
    """Rows the commits after ``version`` added to ``table``, by value of ``column``, from the added files'
    statistics (their row count, and the column's least and greatest value): no Spark job. None where they do not
    tell (a file without statistics, or with several values of ``column``; a commit that removes rows), or where
    the log cannot be read directly (no JVM gateway, Databricks): the caller then counts with a query."""
    log_path = delta_log_path(spark, table)
    if log_path is None:
        return None
    counts: dict[str, int] = {}
    for actions in _commits_after(spark, log_path, version):
        for action in actions:
            if action.get("remove", {}).get("dataChange"):
                return None
            added = action.get("add")
            if not added or not added.get("dataChange"):
                continue
            stats = json.loads(added.get("stats") or "{}")
            least, greatest = stats.get("minValues", {}).get(column), stats.get("maxValues", {}).get(column)
            if least is None or least != greatest or "numRecords" not in stats:
                return None
            counts[least] = counts.get(least, 0) + stats["numRecords"]
    return counts


def _commits_after(spark: SparkSession, log_path: str, version: int) -> Iterator[list[dict]]:
    """The actions of each commit after ``version``, oldest first, until a commit's file is missing."""
    commit = version + 1
    while True:
        file = hadoop_file_ops(spark, f"{log_path}/{commit:020d}.json")
        text = None if file is None else file.read()
        if text is None:
            return
        yield [json.loads(line) for line in text.splitlines() if line.strip()]
        commit += 1


def _history_metrics_since(spark: SparkSession, table: str, version: int) -> list[dict[str, str]]:
    history, limit = DeltaTable.forName(spark, table), 16
    while True:
        rows = history.history(limit).select("version", "operationMetrics").collect()
        newer = [row.operationMetrics or {} for row in rows if row.version > version]
        if len(newer) < len(rows) or len(rows) < limit:
            return newer
        limit *= 4


def checkpoint_state(spark: SparkSession, checkpoint: str) -> dict[str, object] | None:
    """A query checkpoint's id and its newest planned and committed batch numbers; None when it has none yet
    (or the session cannot list it). Planned ahead of committed means a restart replays a batch."""
    root = checkpoint.rstrip("/")
    listed = list_files(spark, root)
    if not listed or "metadata" not in {name for name, _, _ in listed}:
        return None

    def newest(folder: str) -> int:
        return max((int(name) for name, _, _ in list_files(spark, f"{root}/{folder}") if name.isdigit()), default=-1)

    query_id = json.loads(read_small_file(spark, f"{root}/metadata"))["id"]
    return {"id": query_id, "planned": newest("offsets"), "committed": newest("commits")}


def checkpoint_damage(spark: SparkSession, checkpoint: str) -> str | None:
    """What makes a query's checkpoint unreadable, or None: its metadata must be JSON with the query's id, and
    the newest file of its offsets and commits logs a version line followed by JSON lines (what Spark reads
    on a restart; an older damaged file is never read again)."""
    root = checkpoint.rstrip("/")
    files = ["metadata"]
    for log in ("offsets", "commits"):
        numbered = [int(name) for name, _, _ in list_files(spark, f"{root}/{log}") or [] if name.isdigit()]
        files += [f"{log}/{max(numbered)}"] if numbered else []
    for name in files:
        try:
            text = read_small_file(spark, f"{root}/{name}")
            readable = bool(json.loads(text).get("id")) if name == "metadata" else _is_log_entry(text)
        except (ValueError, AttributeError) as error:  # torn JSON or text, metadata that is no JSON object
            return f"{name} cannot be read ({type(error).__name__}: {error})"
        except Py4JError as error:  # the file system refuses it, e.g. a checksum that no longer matches
            cause = next((line.strip() for line in str(error).splitlines() if "Exception:" in line), "")
            return f"{name} cannot be read ({cause[:300] or type(error).__name__})"
        if not readable:
            return f"{name} is not what Spark wrote there"
    return None


def _is_log_entry(text: str) -> bool:
    lines = text.splitlines()
    if not lines or not lines[0].startswith("v") or not lines[0][1:].isdigit():
        return False
    for line in lines[1:]:
        if line != "-":  # "-": a source with no offset yet (Spark's void offset)
            json.loads(line)  # a ValueError (torn JSON) tells the caller the file is damaged
    return True


def stream_files(spark: SparkSession, checkpoint: str) -> dict[str, int] | None:
    """The files a file stream has planned to read, by name, each with the modification time (epoch ms) it had
    when the stream listed it: from Spark's file source log in the checkpoint (``sources/0``: a line ``v1``,
    then one JSON entry per file; every tenth batch a ``.compact`` file holding all the entries before it).
    None where there is no such log to read: Auto Loader (Databricks) keeps its own state, and a session
    without a JVM gateway cannot list files."""
    if platform.on_databricks():
        return None
    log = f"{checkpoint.rstrip('/')}/sources/0"
    listed = list_files(spark, log)
    if listed is None:
        return None
    batches = {int(name.split(".")[0]): name for name, _, _ in listed if name.split(".")[0].isdigit()}
    compacted = [batch for batch, name in batches.items() if name.endswith(".compact")]
    since = max(compacted, default=-1)
    files = {}
    for batch in sorted(batch for batch in batches if batch >= since):
        for line in read_small_file(spark, f"{log}/{batches[batch]}").splitlines()[1:]:
            entry = json.loads(line)
            files[unquote(entry["path"].rsplit("/", 1)[-1])] = entry["timestamp"]
    return files


def table_property(spark: SparkSession, table: str, key: str) -> str | None:
    """A table's (or view's) property, None if it has none of that name."""
    properties = {row.key: row.value for row in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
    return properties.get(key)


def set_table_property(spark: SparkSession, table: str, key: str, value: str) -> None:
    """Set a table's property (``key`` is fitlake's own; ``value`` a digest or a name: no quote in either)."""
    if "'" in key + value:
        raise ValueError(f"A table property holds no quote: {key!r} = {value!r}")
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('{key}' = '{value}')")


def append_rows(frame: DataFrame, table: str) -> None:
    """Append ``frame`` to ``table`` as it is: a blind append, for rows that say something new each time they are
    written (a report naming a file and its new modification time), never for a micro-batch (``append_once``)."""
    frame.write.format("delta").mode("append").saveAsTable(table)


def has_pending_batch(spark: SparkSession, checkpoint: str) -> bool:
    """True when the query's last planned micro-batch (offsets log) has no commit: a restart replays it."""
    state = checkpoint_state(spark, checkpoint)  # None without a JVM gateway: the checkpoint cannot be listed
    return state is not None and state["planned"] > state["committed"]


# The flows' streams of Delta tables (appended rows, or a change data feed) are opened here and nowhere else.
# Measured and not kept: on a restart Spark asks each source again for the last committed batch; when that was
# the query's first, Delta rebuilds the table's initial snapshot (~6 Spark jobs per flow in a lake's second run).
# A ``startingVersion`` set only for that case halved the Spark jobs of the small increment run (279 -> 140) but
# bought no wall time (median pair ratios 1.03 small, 0.98 at 1m). See docs/performance.md.


def read_table(spark: SparkSession, table: str) -> DataFrame:
    """``table`` as it stands now (its latest version), for a batch handler that joins its micro-batch with state."""
    return spark.table(table)


def stream_table(spark: SparkSession, table: str) -> DataFrame:
    """A stream of the rows appended to ``table``."""
    return spark.readStream.table(table)


def stream_changes(
    spark: SparkSession, table: str, change_types: Sequence[str] = ("insert", "update_postimage")
) -> DataFrame:
    """A stream of ``table``'s change data feed, limited to ``change_types``."""
    stream = spark.readStream.option("readChangeFeed", "true").table(table)
    return stream.where(F.col("_change_type").isin(*change_types))


# Set while a flow is rebuilt on a fresh checkpoint (``fitlake.pipeline.checkpoints.recover``). Module-wide, not
# per thread: ``foreachBatch`` handlers run on a thread of Spark's callback server, not the caller's.
_ONLY_NEW_ROWS = threading.Event()
WRITE_TIME = "load_time"  # when a row was written: not part of what the row says


@contextmanager
def writing_only_new_rows() -> Iterator[None]:
    """While open, ``append_once`` appends only the rows its table does not hold yet (as multisets, by every
    column but the write time): a flow re-reading all its input on a fresh checkpoint then adds only what its
    lost checkpoint had not taken in. MERGEs need nothing: they are idempotent by construction."""
    _ONLY_NEW_ROWS.set()
    try:
        yield
    finally:
        _ONLY_NEW_ROWS.clear()


def _not_yet_in(batch: DataFrame, table: str) -> DataFrame:
    """``batch``'s rows less those ``table`` holds: each held row cancels one equal row of the batch."""
    columns = [c for c in batch.columns if c != WRITE_TIME]
    held = batch.sparkSession.table(table).select(*columns)
    new = batch.select(*columns).exceptAll(held)
    if WRITE_TIME in batch.columns:
        new = new.withColumn(WRITE_TIME, F.current_timestamp())
    return new.select(*batch.columns)


def append_once(batch: DataFrame, table: str, app_id: str, batch_id: int, *, skip_empty: bool = False) -> None:
    """Append a micro-batch's rows exactly once: Delta skips a (app_id, batch_id) it has already committed,
    so a batch replayed after a crash does not duplicate rows. While a flow is rebuilt
    (``writing_only_new_rows``), only the rows the table does not hold yet.

    ``skip_empty``: write nothing, not even an empty commit, when ``batch`` has no rows (for the quarantine,
    empty in almost every batch). Safe to skip: a replay of the batch finds it empty again and writes nothing
    either. Worth it only when ``batch`` is cheap to probe (read from a persisted frame): an empty append
    costs a Delta commit, and a new table version that every later reader of the table must load.
    """
    if _ONLY_NEW_ROWS.is_set():
        batch = _not_yet_in(batch, table)
    if skip_empty and batch.isEmpty():
        return
    (
        batch.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", batch_id)
        .saveAsTable(table)
    )


# Spark stops a query by interrupting its thread and cancelling its jobs. A ``foreachBatch`` handler caught inside a
# Spark call then fails with a Py4J error that carries the whole Java stack, and Spark 4.1 tells such a stop from a
# failure by matching the error's text against a regex of its own (``StreamExecution.PROXY_ERROR``), whose
# ``(.|\r\n|\r|\n)*`` recurses once per character: past about 2,000 characters it overflows the thread's stack. The
# query's thread then dies of a StackOverflowError, printed as a thousand lines, for every query stopped mid-batch
# (each continuous run's end, the other running flows when one fails). So a handler stopped by ``stop_queries``
# raises, instead, a short error in the form that regex recognises as an interruption, and the query stops quietly.
# The batch is not committed either way: the next start replays it.
_STOPPING: set[str] = set()  # names of the queries ``stop_queries`` is stopping
SPARK_INTERRUPTION = (
    "py4j.protocol.Py4JJavaError: An error occurred while calling {call}: java.lang.InterruptedException"
)


class StoppedMidBatchError(Exception):
    """A micro-batch ended by ``stop_queries``: not committed, so the query's next start replays it."""

    def __init__(self, flow: str) -> None:
        call = f"{flow}'s foreachBatch"
        super().__init__(f"{SPARK_INTERRUPTION.format(call=call)} (stopped mid-batch; the next start replays it)")


def stop_queries(queries) -> None:  # noqa: ANN001 - any iterable of StreamingQuery
    """Stop each query still active, a micro-batch under way included (see ``StoppedMidBatchError``)."""
    for query in list(queries):
        if not query.isActive:
            continue
        name = query.name
        if name:  # a handler knows its query by name (every flow's is named); an unnamed one stops as Spark stops it
            _STOPPING.add(name)
        try:
            query.stop()
        finally:
            _STOPPING.discard(name)


def for_each_batch(stream: DataFrame, target: StreamTarget, handler) -> StreamingQuery:  # noqa: ANN001
    """Start ``stream`` with ``handler(batch_df, batch_id)`` per micro-batch, run with Spark's code generation as
    the batch's size chooses (``code_generation_by_size``).

    After the handler's writes, and before Spark commits the batch, a test may crash the batch there
    (``fitlake.crash_points``): the moment that makes a restart replay a batch already in the tables.
    """
    flow = target.query_name or target.table

    def handle(batch: DataFrame, batch_id: int) -> None:
        try:
            code_generation_by_size(batch)
            handler(batch, batch_id)
        except Exception:
            if target.query_name in _STOPPING:
                raise StoppedMidBatchError(flow) from None
            raise
        finally:
            # Spark plans the next micro-batch's own read before its handler runs, with its session's settings:
            # that read is then planned as the session started, not as the last batch's size chose.
            code_generation_by_size(batch, reset=True)
        crash_points.after_batch(flow, batch_id)

    return _start(stream.writeStream.foreachBatch(handle), target)


def code_generation_by_size(batch: DataFrame, *, reset: bool = False) -> None:
    """In a local session, Spark's code generation on for ``batch``'s session when the batch's input is at least
    ``platform.LOCAL_CODEGEN_FROM_BYTES_CONF`` bytes, else (or with ``reset``) off, as the session starts
    (``fitlake.local.session``).

    A streaming query runs its batches in a session of its own (a clone of the one that started it), so in a
    query's handler this sets the confs of that query alone. The work it chooses for is what the handler plans
    (its transforms, writes and MERGEs); the batch's own read is planned by Spark before the handler runs. The
    size is Spark's own estimate of the bytes the batch's sources read (``batch_bytes``); a source that gives none
    (Kafka) counts as small. Results do not depend on it: generated code and Spark's interpreted evaluation compute
    the same. Sessions without the conf (Databricks) are left as they are.
    """
    spark = batch.sparkSession
    threshold = spark.conf.get(platform.LOCAL_CODEGEN_FROM_BYTES_CONF, None)
    if threshold is None or not has_gateway(spark):
        return
    size = None if reset else batch_bytes(batch)
    large = size is not None and size >= int(threshold)
    for key, value in (platform.CODEGEN_ON if large else platform.CODEGEN_OFF).items():
        spark.conf.set(key, value)


def batch_bytes(batch: DataFrame) -> int | None:
    """Spark's estimate of the bytes ``batch``'s sources read: the sum of its plan's leaves' statistics (for a file
    or Delta source, the size of the files its batch reads; for Delta, compressed Parquet). None when a source
    gives none (a Kafka topic: Spark then says ``spark.sql.defaultSizeInBytes``, and scales even that by the
    projections above it, so only the leaves tell)."""
    leaves = batch._jdf.queryExecution().optimizedPlan().collectLeaves()
    unknown = batch.sparkSession._jsparkSession.sessionState().conf().defaultSizeInBytes()
    total = 0
    for index in range(leaves.size()):
        size = int(str(leaves.apply(index).stats().sizeInBytes()))  # a Scala BigInt
        if size >= unknown:
            return None
        total += size
    return total


def read_json_files(spark: SparkSession, path: str, schema: str, max_files_per_trigger: int | None = None) -> DataFrame:
    """A stream of JSON-lines files under ``path`` with an explicit schema (new files only, each once)."""
    reader = spark.readStream.format("json").schema(schema).options(**STRICT_JSON)
    if max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", max_files_per_trigger)
    return reader.load(path)
