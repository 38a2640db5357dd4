# Databricks notebook source
# MAGIC %md
# MAGIC # Silver
# MAGIC
# MAGIC Runs the silver flows: bronze → silver entities, completed workouts, workout readings and age bins. In a batch run the driver
# MAGIC (`05_driver`) runs this notebook as its silver step, handing it its run lock's token (`run_lock_token`);
# MAGIC run alone, for working on one layer interactively, it takes the run lock itself. Batch mode processes what
# MAGIC is new and stops; continuous mode keeps running until `run_timeout_seconds` (0 = until interrupted).
# MAGIC Exits with the layer's summary as JSON (rows written per table, rows quarantined per source, durations).

# COMMAND ----------

# MAGIC %run ./01_config

# COMMAND ----------

dbutils.widgets.dropdown("run_mode", "batch", ["batch", "continuous"], "Run mode")
dbutils.widgets.text("run_timeout_seconds", "0", "Continuous run timeout (s)")
dbutils.widgets.text("run_lock_token", "", "Run lock token (set by the driver)")
run_mode = dbutils.widgets.get("run_mode")
run_timeout_seconds = float(dbutils.widgets.get("run_timeout_seconds") or 0)
run_lock_token = dbutils.widgets.get("run_lock_token")

# COMMAND ----------

import json

from fitlake import pipeline

summary = pipeline.run(
    spark,
    config,
    mode=run_mode,
    layers=["silver"],
    timeout_seconds=run_timeout_seconds,
    run_lock_token=run_lock_token,
)
if not run_lock_token:
    print(summary.as_table())  # under the driver, the driver prints the table of the whole run

# COMMAND ----------

dbutils.notebook.exit(json.dumps(summary.as_dict()))
