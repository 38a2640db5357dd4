"""The local SparkSession: Delta, a persistent metastore per environment, UTC, quiet.

One process holds one SparkSession, so it serves one environment; asking for another environment in the
same process is an error rather than a silent mix of tables.
"""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import SparkSession

from fitlake.errors import ConfigError
from fitlake.local import cds, jars
from fitlake.local.layout import LocalLayout
from fitlake.platform import (
    CODEGEN_OFF,
    LOCAL_CODEGEN_FROM_BYTES_CONF,
    LOCAL_KAFKA_CONF,
    LOCAL_STORAGE_CONF,
    TIME_ZONE,
)
from fitlake.platform import LOCAL_DATA_ROOT_CONF as DATA_ROOT_CONF
from fitlake.platform import LOCAL_ENV_CONF as ENV_CONF

LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")

# The session's time zone (TIME_ZONE) is the driver JVM's own default zone too (-Duser.timezone), whatever
# the machine's. Spark's SQL follows the session's, but Delta also looks at the JVM's: where the session zone, the
# JVM's default or user.timezone has no "UTC" in its name, every commit to a table of at most 50 files re-reads the
# table's whole state (a state reconstruction and a collect of its file list) to verify the file list kept in the
# commit's checksum file, because timestamps of old dates serialize differently there (Delta's
# ``Snapshot.allFilesInCrcVerificationForceEnabled``). A laptop set to its local zone paid that on every MERGE and
# append. Measured in docs/performance.md.
ZONE_OPTIONS = f"-Duser.timezone={TIME_ZONE}"

# The driver JVM's compilers: a local run is a short-lived process whose code (planning, Delta's log replay,
# hundreds of distinct small jobs) runs a few times each. With the defaults the two JIT compilers took about 60 %
# of its CPU on the 2-core machine for a small increment (C2, the optimising one, 45 %), competing with the work
# itself. So: the client compiler only (tier 1), which compiles cheaply and is fast enough for code that runs that
# rarely, and a code cache large enough that it is never flushed (flushing made C1 compile the same methods again:
# 11 s of sweeper plus recompiles).
#
# Its heap and collector: a run allocates about 600 MB a second of short-lived objects (plans, task binaries,
# Delta's log actions) and holds ~450 MB live by the end of a small one. On Spark's default 1 GB heap the young
# generation (~116 MB) was collected ~105 times in a small increment, plus 4 full collections (two only because
# the class metadata outgrew its first threshold): 3.9 s of stop-the-world pauses in a 36 s run. So a 2 GB heap
# fixed at its size (no resizing), half of it young, and a first metadata threshold of 256 MB: ~20 young
# collections and no full one, nor any over the 1m size's 550 k Kafka lines (~850 MB live at its end). The
# parallel collector, not the serial one: both stop every other thread while they run, so its threads compete
# with nothing; with two the pauses came to 1.6 s in all, against 2.3 s serial. A concurrent collector (G1, the
# default) would compete with the work. A 3 GB heap with the same 1 GB young generation was no faster. Measured in
# docs/performance.md; local sessions only (a Databricks cluster keeps its own JVM settings).
DRIVER_MEMORY_MB = 2048  # the one knob: the heap's fixed size, and its young half, follow from it
DRIVER_MEMORY = f"{DRIVER_MEMORY_MB}m"
JIT_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:-UseCodeCacheFlushing"
HEAP_OPTIONS = f"-XX:+UseParallelGC -Xms{DRIVER_MEMORY} -Xmn{DRIVER_MEMORY_MB // 2}m -XX:MetaspaceSize=256m"

# Where generated code starts to pay (docs/performance.md): the bronze Kafka flow's work in a fresh process over
# 2,000 landed lines (316 KB) took as long either way, over 10,000 (1.6 MB) 0.86x with code generation, over
# 100,000 0.56x. The small sample's micro-batches stay below it.
CODEGEN_FROM_BYTES = 1024 * 1024


def local_spark(
    layout: LocalLayout,
    *,
    ui: bool = False,
    shuffle_partitions: int = 4,
    packages: tuple[str, ...] | None = None,
) -> SparkSession:
    """Create (or return) the process's local SparkSession for ``layout.env``."""
    existing = SparkSession.getActiveSession()
    if existing is not None:
        return _check_same_environment(existing, layout)

    packages = packages or jars.default_packages()
    # Bind the driver to loopback: nothing here talks to other hosts, and Spark stops guessing an interface.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for folder in (layout.warehouse, layout.dbfs, layout.runs):
        folder.mkdir(parents=True, exist_ok=True)
    java_options = (
        f"{JIT_OPTIONS} {HEAP_OPTIONS} {ZONE_OPTIONS} "
        f"-Dderby.system.home={layout.env_root} "
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()} "
        "-Dderby.stream.error.file=/dev/null"
    )
    builder = (
        SparkSession.builder.master("local[*]")
        .appName(f"fitlake-{layout.env}")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.driver.memory", DRIVER_MEMORY)  # the maximum heap (-Xmx): Spark refuses it in the options
        .config("spark.sql.session.timeZone", TIME_ZONE)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        # Delta rebuilds table state with 50 partitions by default: far too many for small local tables.
        .config("spark.databricks.delta.snapshotPartitions", "2")
        # No generated code: a run is hundreds of small jobs over a few hundred rows, and compiling each new
        # plan's Java code (Janino) cost more CPU than evaluating it; interpreted evaluation is the path
        # Spark itself falls back to when code generation fails. A micro-batch of CODEGEN_FROM_BYTES or more
        # turns it on for its own query (streaming.for_each_batch): over many rows, interpreting costs more.
        # Measured in docs/performance.md.
        .config(map=CODEGEN_OFF)
        .config(LOCAL_CODEGEN_FROM_BYTES_CONF, str(CODEGEN_FROM_BYTES))
        .config("spark.ui.enabled", str(ui).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(layout.warehouse))
        .config("spark.sql.catalogImplementation", "hive")
        # Hive makes a folder for downloaded resources in each session, named by the session, under the system's
        # temporary folder by default, and never removes it: one per run, forever. fitlake downloads none, so one
        # folder per environment, beside its metastore.
        .config("spark.hadoop.hive.downloaded.resources.dir", str(layout.env_root / "hive-resources"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={layout.metastore};create=true",
        )
        .config("spark.sql.streaming.stopGracefullyOnShutdown", "true")
        .config(ENV_CONF, layout.env)
        .config(DATA_ROOT_CONF, str(layout.data_root))
        .config(LOCAL_STORAGE_CONF, str(layout.storage()))
        .config(LOCAL_KAFKA_CONF, str(layout.kafka))
    )
    cached = jars.cached_jars(packages)
    if cached:  # the class data sharing archive is made for the cached jars (fitlake jars): see cds.py
        java_options += " " + (cds.dump_options() or cds.java_options(cached))
        builder = builder.config("spark.jars", ",".join(cached))
    else:
        builder = builder.config("spark.jars.packages", ",".join(packages)).config(
            "spark.jars.ivy", str(jars.ivy_dir())
        )
    spark = builder.config("spark.driver.extraJavaOptions", java_options.strip()).getOrCreate()
    if not cached:
        jars.save_resolution(packages, spark.sparkContext.getConf().get("spark.jars", ""))
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _check_same_environment(spark: SparkSession, layout: LocalLayout) -> SparkSession:
    env = spark.conf.get(ENV_CONF, None)
    root = spark.conf.get(DATA_ROOT_CONF, None)
    if env != layout.env or root != str(layout.data_root):
        raise ConfigError(
            f"This process already runs a SparkSession for environment {env!r} at {root!r}; it cannot also "
            f"serve {layout.env!r} at {layout.data_root}. Run each environment in its own process."
        )
    return spark
