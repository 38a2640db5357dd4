"""Bronze flows: landing files (or, for the Kafka records, the topics) -> bronze tables (+ quarantine), exactly once.

Each micro-batch is appended with Delta's idempotent writes keyed by the query's id and batch number, so a
batch replayed after a crash (files re-listed, or Kafka offsets re-read from the checkpoint) writes nothing twice.
"""

from __future__ import annotations

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from fitlake import platform
from fitlake.config import PipelineConfig
from fitlake.kafka import settings as kafka_settings
from fitlake.pipeline.flow import Flow, Inputs, batch_app_id
from fitlake.streaming import (
    BATCH,
    StreamTarget,
    Trigger,
    append_once,
    for_each_batch,
    has_pending_batch,
    read_kafka,
    read_landing,
)
from fitlake.tables import BRONZE, SILVER
from fitlake.transforms import bronze


def _csv_flow(source: str, schema: str, required: tuple[str, ...], times: tuple[str, ...]) -> Flow:
    columns = tuple(c.split()[0] for c in schema.split(", ") if not c.startswith(bronze.CORRUPT))
    table_name = f"{source}_bz"

    def checkpoint_of(config: PipelineConfig) -> str:
        return config.checkpoint(f"{BRONZE}/{table_name}")

    def inputs(config: PipelineConfig) -> Inputs:
        return Inputs(folders=(config.landing_path(source),))

    def start(spark: SparkSession, config: PipelineConfig, trigger: Trigger) -> StreamingQuery:
        table, quarantine = config.table(BRONZE, table_name), config.table(BRONZE, "quarantine")
        checkpoint = checkpoint_of(config)

        def handle(batch: DataFrame, batch_id: int) -> None:
            epochs = [bronze.not_an_epoch(column) for column in times]
            checked = bronze.with_reason(batch, required, "CSV row", epochs).persist()
            try:
                app_id = batch_app_id(batch.sparkSession, checkpoint)
                append_once(bronze.good_rows(checked, columns), table, app_id, batch_id)
                bad = bronze.quarantined(checked, table_name, bronze.csv_raw(columns))
                append_once(bad, quarantine, f"{app_id}:quarantine", batch_id, skip_empty=True)
            finally:
                checked.unpersist()

        stream = read_landing(spark, config.landing_path(source), "csv", schema)
        return for_each_batch(stream, StreamTarget(table, checkpoint, trigger, f"{BRONZE}.{table_name}"), handle)

    return Flow(f"{BRONZE}.{table_name}", stage=1, start=start, inputs=inputs, checkpoint=checkpoint_of)


def _kafka_records(spark: SparkSession, config: PipelineConfig) -> DataFrame:
    """Kafka records from the landing files or, with bronze_source "kafka", from the topics themselves."""
    if config.bronze_source == "kafka":
        login = kafka_settings.credentials(config.kafka, config.secrets)
        options = kafka_settings.spark_source_options(config.kafka, login, shaded=platform.on_databricks())
        return bronze.kafka_source_records(read_kafka(spark, options))
    return read_landing(spark, config.landing_path("kafka_multiplex"), "json", bronze.KAFKA_RECORD_JSON)


def _kafka_flow() -> Flow:
    table_name = "kafka_multiplex_bz"
    columns = ("key", "value", "topic", "partition", "offset", "timestamp")

    def checkpoint_of(config: PipelineConfig) -> str:
        # Each source has its own checkpoint (file listings and Kafka offsets cannot share one), so a lake
        # can switch between them: both append to the same table, each resuming where it stopped.
        suffix = "_from_kafka" if config.bronze_source == "kafka" else ""
        return config.checkpoint(f"{BRONZE}/{table_name}{suffix}")

    def inputs(config: PipelineConfig) -> Inputs | None:
        # What a topic holds is only known by asking the broker, which is the query's own work: always run.
        return None if config.bronze_source == "kafka" else Inputs(folders=(config.landing_path("kafka_multiplex"),))

    def start(spark: SparkSession, config: PipelineConfig, trigger: Trigger) -> StreamingQuery:
        table, quarantine = config.table(BRONZE, table_name), config.table(BRONZE, "quarantine")
        lookup = config.table(SILVER, "date_lookup")
        checkpoint = checkpoint_of(config)

        def handle(batch: DataFrame, batch_id: int) -> None:
            session = batch.sparkSession
            checked = bronze.kafka_with_reason(batch).persist()
            try:
                app_id = batch_app_id(session, checkpoint)
                records = bronze.kafka_records(bronze.good_rows(checked, columns), session.table(lookup))
                append_once(records, table, app_id, batch_id)
                bad = bronze.quarantined(checked, table_name, bronze.kafka_raw())
                append_once(bad, quarantine, f"{app_id}:quarantine", batch_id, skip_empty=True)
            finally:
                checked.unpersist()

        def launch(chosen: Trigger) -> StreamingQuery:
            target = StreamTarget(table, checkpoint, chosen, f"{BRONZE}.{table_name}")
            return for_each_batch(_kafka_records(spark, config), target, handle)

        if config.bronze_source == "kafka" and has_pending_batch(spark, checkpoint):
            _replay_pending_batch(spark, checkpoint, launch(Trigger(BATCH)))
        return launch(trigger)

    return Flow(f"{BRONZE}.{table_name}", stage=1, start=start, inputs=inputs, checkpoint=checkpoint_of)


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
        if query.isActive:
            query.stop()


FLOWS = (
    _csv_flow(
        "registered_users",
        bronze.REGISTERED_USERS_CSV,
        bronze.REGISTERED_USERS_REQUIRED,
        bronze.REGISTERED_USERS_TIMES,
    ),
    _csv_flow("gym_logins", bronze.GYM_LOGINS_CSV, bronze.GYM_LOGINS_REQUIRED, bronze.GYM_LOGINS_TIMES),
    _kafka_flow(),
)
