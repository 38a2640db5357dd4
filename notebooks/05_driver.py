# Databricks notebook source
# MAGIC %md
# MAGIC # Driver
# MAGIC
# MAGIC The workflow job's entry point. Runs setup (idempotent), then bronze, silver and gold in dependency order.
# MAGIC
# MAGIC - **batch**: every stream runs with the availableNow trigger, stage by stage; returns when all are done.
# MAGIC - **continuous**: every stream runs on the `processing_time` trigger until `run_timeout_seconds` passes
# MAGIC   (0 = until interrupted), then all stop cleanly; a restart resumes from the checkpoints.
# MAGIC
# MAGIC Exits with a JSON summary: rows written (inserted/updated/deleted) per table, rows quarantined per
# MAGIC source, durations.

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
setup_arguments = {"environment": config.environment, "landing": dbutils.widgets.get("landing")}
dbutils.notebook.run("../setup/01_schemas_and_tables", 0, {"environment": config.environment})
print("date_lookup:", dbutils.notebook.run("../setup/02_history_loader", 0, setup_arguments))

# COMMAND ----------

# MAGIC %md ## Pipeline

# COMMAND ----------

import json

summary = pipeline.run(
    spark, config, mode=run_mode, layers=pipeline.parse_layers(layers), timeout_seconds=run_timeout_seconds
)
result = summary.as_dict()
print(json.dumps(result, indent=2))

# COMMAND ----------

dbutils.notebook.exit(json.dumps(result))
