"""The floor of any Spark pipeline over fitlake's landing files: one plain batch pass, nothing incremental.

Reads each landing source with its explicit schema, parses each Kafka topic's JSON payload, and writes one
Delta table per source (overwrite): no MERGE, no dedupe, no quarantine, no checkpoints. Same local session
settings as fitlake, code generation included (on when the Kafka files are as large as a micro-batch that fitlake
runs with it). ``benchmarks/bench.py`` times it as a whole process beside ``fitlake run``.

    python benchmarks/plain_pass.py LANDING_FOLDER OUT_FOLDER
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyspark.sql import functions as F

from fitlake.contract import BPM, GYM_LOGINS, KAFKA_MULTIPLEX, REGISTERED_USERS, USER_INFO, WORKOUT
from fitlake.local.layout import LocalLayout, resolve_data_root
from fitlake.local.session import local_spark
from fitlake.parameters import ENVIRONMENT
from fitlake.streaming import code_generation_by_size
from fitlake.transforms import bronze, silver

PAYLOADS = {USER_INFO: silver.USER_INFO_PAYLOAD, BPM: silver.BPM_PAYLOAD, WORKOUT: silver.WORKOUT_PAYLOAD}


def main(landing: Path, out: Path) -> None:
    spark = local_spark(LocalLayout(resolve_data_root(), ENVIRONMENT.default))
    for source in (REGISTERED_USERS, GYM_LOGINS):
        rows = spark.read.schema(bronze.read_schema(source)).option("header", "true").csv(str(landing / source.name))
        rows.write.format("delta").mode("overwrite").save(str(out / source.name))
    kafka = bronze.read_schema(KAFKA_MULTIPLEX)
    records = spark.read.schema(kafka).json(str(landing / KAFKA_MULTIPLEX.name))
    code_generation_by_size(records)  # as fitlake's micro-batch of the same files would run: the same floor
    records = records.persist()
    for topic, payload in PAYLOADS.items():
        parsed = records.where(F.col("topic") == topic).select(F.from_json("value", payload).alias("p"), "offset")
        parsed.select("p.*", "offset").write.format("delta").mode("overwrite").save(str(out / topic))
    spark.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
