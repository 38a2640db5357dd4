"""Where the code runs: Databricks or the local runtime. Safe to import from notebooks.

Notebooks ask this module, never ``fitlake.local``, for platform-dependent answers such as where their
working storage lives.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the CLI imports this module (through the layout) before any session exists
    from pyspark.sql import SparkSession

# Spark conf keys the local session sets about itself from its LocalLayout (Databricks sessions have none). The
# spark. prefix keeps spark-submit from warning about unknown keys.
LOCAL_ENV_CONF = "spark.fitlake.local.env"
LOCAL_DATA_ROOT_CONF = "spark.fitlake.local.dataRoot"
LOCAL_STORAGE_CONF = "spark.fitlake.local.storage"  # where DBFS_ROOT lives locally: LocalLayout.storage()
LOCAL_KAFKA_CONF = "spark.fitlake.local.kafka"  # the local broker's folder: LocalLayout.kafka
# The input size from which a local micro-batch runs with Spark's code generation (streaming.for_each_batch).
LOCAL_CODEGEN_FROM_BYTES_CONF = "spark.fitlake.local.codegenFromBytes"

# Spark's code generation off, as a local session starts, and on (Spark's defaults), as a large local micro-batch
# runs: fitlake.local.session says why.
CODEGEN_OFF = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
CODEGEN_ON = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}

# The time zone of every session, local or on a job's cluster: the pipeline's event times and date bins assume it.
TIME_ZONE = "UTC"

DBFS_ROOT = "dbfs:/fitlake"
# Working storage's folders, under DBFS_ROOT (locally LocalLayout.storage()): the landing zone, and the checkpoints.
LANDING_FOLDER, CHECKPOINTS_FOLDER = "landing", "checkpoints"


def on_databricks() -> bool:
    """True inside a Databricks cluster (the runtime sets this variable on every node)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def storage_path(spark: SparkSession, relative: str) -> str:
    """A path for fitlake's working files (landing copies, checkpoints) that Spark can read and write.

    On Databricks it is under ``dbfs:/fitlake``; locally it is a ``file:`` URI of the place ``dbutils.fs``
    maps that DBFS path to, under the environment's data root. A URI with its scheme means the same thing
    to Spark and to ``dbutils.fs`` on both platforms.
    """
    relative = relative.strip("/")
    if on_databricks():
        return f"{DBFS_ROOT}/{relative}"
    root = spark.conf.get(LOCAL_STORAGE_CONF, None)
    if root is None:
        raise RuntimeError("This SparkSession is neither Databricks' nor fitlake's local one; use fitlake.local.")
    return f"file:{root}/{relative}" if relative else f"file:{root}"
