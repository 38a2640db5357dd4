# Databricks notebook source
# MAGIC %md
# MAGIC # Config
# MAGIC
# MAGIC Included by the pipeline notebooks with `%run ./01_config`. Declares the widgets every notebook shares
# MAGIC and loads the environment's validated configuration into `config`: catalog, landing and checkpoint
# MAGIC locations, trigger interval, maximum workout length, age as-of date. Widget names are the job
# MAGIC parameter names and the config keys.

# COMMAND ----------

dbutils.widgets.dropdown("environment", "dev", ["dev", "qa", "prod"], "Environment")
dbutils.widgets.text("landing", "", "Landing root override")
dbutils.widgets.text("processing_time", "", "Continuous trigger interval")
dbutils.widgets.text("age_as_of", "", "Age bins as of (yyyy-MM-dd)")

# COMMAND ----------

from fitlake.config import load_config

config = load_config(
    spark,
    dbutils.widgets.get("environment"),
    landing=dbutils.widgets.get("landing"),
    processing_time=dbutils.widgets.get("processing_time"),
    age_as_of=dbutils.widgets.get("age_as_of"),
)
print(config)
