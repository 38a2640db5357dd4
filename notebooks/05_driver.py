# Databricks notebook source
# MAGIC %md
# MAGIC # Driver
# MAGIC
# MAGIC The workflow job's entry point. Runs setup (idempotent), then bronze, silver and gold in dependency order
# MAGIC (the `layers` widget chooses which).
# MAGIC
# MAGIC - **batch**: runs the layer notebooks `02_bronze`, `03_silver` and `04_gold` as child notebooks, one after
# MAGIC   another; each runs its streams with the availableNow trigger, each starting once the flows writing
# MAGIC   the tables it reads are done, and returns its layer's summary. The driver holds the environment's run lock throughout and hands each child its token, so no
# MAGIC   other run starts between two layers. A failing layer fails the driver; later layers do not run.
# MAGIC - **continuous**: every stream of every layer runs here, on the `processing_time` trigger until
# MAGIC   `run_timeout_seconds` passes (0 = until interrupted), then all stop cleanly; a restart resumes from the
# MAGIC   checkpoints.
# MAGIC
# MAGIC While it runs it prints a line as flows start and one per micro-batch (continuous: a heartbeat with each flow's
# MAGIC lag); at the end a table of rows inserted/updated/deleted/quarantined and seconds per table. Exits with
# MAGIC the same summary as JSON (rows written per table, rows quarantined per source, durations), the layers'
# MAGIC summaries combined.

# COMMAND ----------

# MAGIC %run ./01_config

# COMMAND ----------

dbutils.widgets.dropdown("run_mode", "batch", ["batch", "continuous"], "Run mode")
dbutils.widgets.text("layers", "bronze,silver,gold", "Layers")
dbutils.widgets.text("run_timeout_seconds", "0", "Continuous run timeout (s)")
run_mode = dbutils.widgets.get("run_mode")
layers = dbutils.widgets.get("layers")
run_timeout_seconds = float(dbutils.widgets.get("run_timeout_seconds") or 0)

# COMMAND ----------

# MAGIC %md ## Setup (idempotent)

# COMMAND ----------

from fitlake import pipeline

for folder in pipeline.landing_folders(config):
    dbutils.fs.mkdirs(folder)  # streams need their folders to exist, even before the first file lands
setup = {
    "../setup/01_schemas_and_tables": {"environment": config.environment},
    "../setup/02_history_loader": {"environment": config.environment, "landing": dbutils.widgets.get("landing")},
}
for notebook, arguments in setup.items():
    dbutils.notebook.run(notebook, 0, arguments)  # each prints its one-line status; its run keeps the details

# COMMAND ----------

# MAGIC %md ## Pipeline

# COMMAND ----------

import json

from fitlake.parameters import BATCH
from fitlake.pipeline.driver import run_layer_notebooks

if run_mode == BATCH:  # one child notebook per layer, each with the driver's widgets and its run lock
    summary = run_layer_notebooks(
        spark, config, pipeline.parse_layers(layers), dbutils.notebook.run, dbutils.widgets.getAll()
    )
else:
    summary = pipeline.run(
        spark, config, mode=run_mode, layers=pipeline.parse_layers(layers), timeout_seconds=run_timeout_seconds
    )
print(summary.as_table())

# COMMAND ----------

dbutils.notebook.exit(json.dumps(summary.as_dict()))
