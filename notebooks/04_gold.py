# Databricks notebook source
# MAGIC %md
# MAGIC # Gold
# MAGIC
# MAGIC Runs the gold flows alone: silver → gold.workout_bpm_summary (gold.gym_summary is a view). The driver runs all layers in order; this notebook is for
# MAGIC working on one layer interactively. Batch mode processes what is new and stops; continuous mode keeps
# MAGIC running until `run_timeout_seconds` (0 = until interrupted).

# COMMAND ----------

# MAGIC %run ./01_config

# COMMAND ----------

dbutils.widgets.dropdown("run_mode", "batch", ["batch", "continuous"], "Run mode")
dbutils.widgets.text("run_timeout_seconds", "0", "Continuous run timeout (s)")
run_mode = dbutils.widgets.get("run_mode")
run_timeout_seconds = float(dbutils.widgets.get("run_timeout_seconds") or 0)

# COMMAND ----------

from fitlake import pipeline

summary = pipeline.run(spark, config, mode=run_mode, layers=["gold"], timeout_seconds=run_timeout_seconds)
print(summary.as_dict())
