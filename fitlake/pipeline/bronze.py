"""Bronze flows: landing files (or, for the Kafka records, the topics) -> bronze tables (+ quarantine), exactly once.

Each micro-batch is appended with Delta's idempotent writes keyed by the query's id and batch number, so a
batch replayed after a crash (files re-listed, or Kafka offsets re-read from the checkpoint) writes nothing twice.

Before a landing stream starts, its folder is checked against what the stream has read (``_check_landing``): a
file changed since is reported, and a CSV file the reader would fail on is refused before the stream plans it.
"""

from __future__ import annotations

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException, StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from fitlake import platform
from fitlake.config import PipelineConfig
from fitlake.contract import GYM_LOGINS, KAFKA_MULTIPLEX, MAX_LINE_BYTES, REGISTERED_USERS, LandingSource
from fitlake.errors import LandingError
from fitlake.kafka import settings as kafka_settings
from fitlake.parameters import BATCH
from fitlake.pipeline.flow import Flow, Inputs, batch_app_id
from fitlake.streaming import (
    StreamTarget,
    Trigger,
    append_once,
    append_rows,
    for_each_batch,
    has_pending_batch,
    list_files,
    persisted,
    read_kafka,
    read_landing,
    read_landing_files,
    read_table,
    stop_queries,
    stream_files,
)
from fitlake.tables import BRONZE, SILVER
from fitlake.transforms import bronze, checks


def _csv_flow(source: LandingSource) -> Flow:
    columns, schema, table_name = source.columns, bronze.read_schema(source), source.bronze_table

    def checkpoint_of(config: PipelineConfig) -> str:
        return config.checkpoint(f"{BRONZE}/{table_name}")

    def inputs(config: PipelineConfig) -> Inputs:
        return Inputs(folders=(config.landing_path(source.name),))

    def start(spark: SparkSession, config: PipelineConfig, trigger: Trigger) -> StreamingQuery:
        table, quarantine = config.table(BRONZE, table_name), config.table(BRONZE, "quarantine")
        checkpoint = checkpoint_of(config)

        def handle(batch: DataFrame, batch_id: int) -> None:
            epochs = [checks.not_an_epoch(column) for column in source.epoch_seconds]
            with persisted(bronze.csv_with_reason(batch, columns, source.required, epochs)) as checked:
                app_id = batch_app_id(batch.sparkSession, checkpoint)
                append_once(bronze.good_rows(checked, columns), table, app_id, batch_id)
                bad = bronze.quarantined(checked, table_name, bronze.csv_raw(columns))
                append_once(bad, quarantine, f"{app_id}:quarantine", batch_id, skip_empty=True)

        folder = config.landing_path(source.name)
        _check_landing(spark, folder, checkpoint, quarantine, table_name, schema)
        stream = read_landing(spark, folder, source.format, schema)
        return for_each_batch(stream, StreamTarget(table, checkpoint, trigger, f"{BRONZE}.{table_name}"), handle)

    return Flow(f"{BRONZE}.{table_name}", start=start, inputs=inputs, checkpoint=checkpoint_of)


def _kafka_records(spark: SparkSession, config: PipelineConfig) -> DataFrame:
    """Kafka records from the landing files or, with bronze_source "kafka", from the topics themselves."""
    if config.reads_topics:
        login = kafka_settings.credentials(config.kafka, config.secrets)
        options = kafka_settings.spark_source_options(config.kafka, login, shaded=platform.on_databricks())
        return bronze.kafka_source_records(read_kafka(spark, options))
    source = KAFKA_MULTIPLEX
    return read_landing(spark, config.landing_path(source.name), source.format, bronze.read_schema(source))


def _kafka_flow() -> Flow:
    table_name, columns = KAFKA_MULTIPLEX.bronze_table, KAFKA_MULTIPLEX.columns

    def checkpoint_of(config: PipelineConfig) -> str:
        # Each source has its own checkpoint (file listings and Kafka offsets cannot share one), so a lake
        # can switch between them: both append to the same table, each resuming where it stopped.
        suffix = "_from_kafka" if config.reads_topics else ""
        return config.checkpoint(f"{BRONZE}/{table_name}{suffix}")

    def inputs(config: PipelineConfig) -> Inputs | None:
        # What a topic holds is only known by asking the broker, which is the query's own work: always run.
        return None if config.reads_topics else Inputs(folders=(config.landing_path(KAFKA_MULTIPLEX.name),))

    def start(spark: SparkSession, config: PipelineConfig, trigger: Trigger) -> StreamingQuery:
        table, quarantine = config.table(BRONZE, table_name), config.table(BRONZE, "quarantine")
        lookup = config.table(SILVER, "date_lookup")
        checkpoint = checkpoint_of(config)

        def handle(batch: DataFrame, batch_id: int) -> None:
            session = batch.sparkSession
            with persisted(bronze.kafka_with_reason(batch)) as checked:
                app_id = batch_app_id(session, checkpoint)
                records = bronze.kafka_records(bronze.good_rows(checked, columns), read_table(session, lookup))
                append_once(records, table, app_id, batch_id)
                bad = bronze.quarantined(checked, table_name, bronze.kafka_raw())
                append_once(bad, quarantine, f"{app_id}:quarantine", batch_id, skip_empty=True)

        if not config.reads_topics:
            _check_landing(spark, config.landing_path(KAFKA_MULTIPLEX.name), checkpoint, quarantine, table_name)

        def launch(chosen: Trigger) -> StreamingQuery:
            target = StreamTarget(table, checkpoint, chosen, f"{BRONZE}.{table_name}")
            return for_each_batch(_kafka_records(spark, config), target, handle)

        if config.reads_topics and has_pending_batch(spark, checkpoint):
            _replay_pending_batch(spark, checkpoint, launch(Trigger(BATCH)))
        return launch(trigger)

    return Flow(f"{BRONZE}.{table_name}", start=start, inputs=inputs, checkpoint=checkpoint_of)


def _check_landing(
    spark: SparkSession, folder: str, checkpoint: str, quarantine: str, table_name: str, csv_schema: str | None = None
) -> None:
    """Report the files of ``folder`` changed since the stream read them; refuse a new CSV file (``csv_schema``
    given) that the reader would fail on.

    A stream reads each file once and never looks at it again: what a producer writes to a file after the
    stream read it (a rewrite in place, the rest of a file read while it was being written) would be lost
    without a word. Such a file gets a quarantine row naming it, once per change. Compared by modification
    time, which is all the stream records; a rewrite that keeps the time (cp -p) goes unnoticed.
    """
    listed, read = list_files(spark, folder), stream_files(spark, checkpoint)
    if listed is None or read is None:
        return
    visible = [(name, size, modified) for name, size, modified in listed if not name.startswith((".", "_"))]
    changed = [(f"{folder}/{name}", read[name], now) for name, _, now in visible if read.get(name, now) != now]
    if changed:
        _report_changed(spark, quarantine, table_name, changed)
    if csv_schema is not None:
        # Only a file larger than the longest field can hold a longer one: the extra read is for those alone.
        large = [f"{folder}/{name}" for name, size, _ in visible if name not in read and size > MAX_LINE_BYTES]
        for path in large:
            _refuse_long_fields(spark, path, folder, csv_schema)


def _report_changed(spark: SparkSession, quarantine: str, table_name: str, changed: list[tuple[str, int, int]]) -> None:
    """Append a quarantine row for each change not reported yet (its reason names the new modification time, so
    a file changed again is reported again). A Spark job, paid only while a changed file lies in the folder."""
    paths = [path for path, _, _ in changed]
    reported = read_table(spark, quarantine).where((F.col("source") == table_name) & F.col("source_file").isin(paths))
    known = {(row.source_file, row.reason) for row in reported.select("source_file", "reason").collect()}
    new = [change for change in changed if (change[0], bronze.changed_reason(*change[1:])) not in known]
    if new:
        # Rows from the listing, not from a read of the table: a blind append, which Delta commits beside the
        # other bronze streams' appends to the quarantine. The run lock makes this flow their only writer.
        append_rows(bronze.changed_files(spark, table_name, new), quarantine)


def _refuse_long_fields(spark: SparkSession, path: str, folder: str, schema: str) -> None:
    """Raise ``LandingError`` when the CSV file at ``path`` holds a field the reader cannot hold. Refused, not
    quarantined: the stream cannot leave out one file of a folder, and once it has planned a file it reads it
    again on every restart, so the file must be set aside before the stream lists it."""
    rows = read_landing_files(spark, [path], "csv", schema)
    try:
        rows.agg(F.count(F.hash(*rows.columns))).collect()  # every field of every row: the parse the stream does
    except (PySparkException, Py4JJavaError) as error:
        if "maximum number of characters" not in str(error):  # the CSV parser's words for a field too long
            raise
        raise LandingError(
            f"{path} holds a CSV field longer than {MAX_LINE_BYTES:,} characters, the most a landing line may "
            f"hold; its stream would fail on it. Move it out of {folder} (or rename it to start with _), then land its "
            "rows again, with shorter fields, under a new name."
        ) from None


# Spark 4.1.1's Kafka source fails a query right after it replays an uncommitted micro-batch: its progress
# metrics read offsets that only a newly planned batch sets (apache/spark#55236, SPARK-55271). The replay
# itself completes and is committed first, so a second start runs normally.
_SPARK_55271 = 'the return value of "scala.Option.get()" is null'


def _replay_pending_batch(spark: SparkSession, checkpoint: str, query: StreamingQuery) -> None:
    """Let ``query`` replay the batch a crash left uncommitted, tolerating only that known failure after it."""
    try:
        query.awaitTermination()
    except StreamingQueryException as error:
        if _SPARK_55271 not in str(error) or has_pending_batch(spark, checkpoint):
            raise
    finally:
        stop_queries([query])


FLOWS = (_csv_flow(REGISTERED_USERS), _csv_flow(GYM_LOGINS), _kafka_flow())
