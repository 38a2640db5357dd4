# Databricks notebook source
# MAGIC %md
# MAGIC # Setup 02: history loader
# MAGIC
# MAGIC Loads the calendar `silver.date_lookup` from the landing zone's `date_lookup/*.json` files, or generates
# MAGIC it when there are none. Idempotent: rows are inserted only for dates not loaded yet, and nothing is read
# MAGIC when the files are the ones last loaded.
# MAGIC
# MAGIC - **Reads**: `<landing>/date_lookup/*.json`
# MAGIC - **Writes**: `<catalog>.silver.date_lookup`

# COMMAND ----------

dbutils.widgets.dropdown("environment", "dev", ["dev", "qa", "prod"], "Environment")
dbutils.widgets.text("landing", "", "Landing root override")
environment = dbutils.widgets.get("environment")
landing = dbutils.widgets.get("landing")

# COMMAND ----------

from fitlake.config import load_config
from fitlake.pipeline.history import load_date_lookup

config = load_config(spark, environment, landing=landing)
origin = load_date_lookup(spark, config)
print(f"date_lookup: {origin}")
dbutils.notebook.exit(origin)
