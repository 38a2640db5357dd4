# Databricks notebook source
# MAGIC %md
# MAGIC # Setup 01: schemas, tables and views
# MAGIC
# MAGIC Creates the `bronze`, `silver` and `gold` schemas in the environment's catalog and every table (Delta,
# MAGIC explicit column types) and view of the pipeline. Idempotent: every statement is `IF NOT EXISTS` (the
# MAGIC gym summary view is `CREATE OR REPLACE`), so a re-run changes nothing and never drops data. When every
# MAGIC object exists and the view carries the fingerprint of today's statements, nothing runs at all.
# MAGIC
# MAGIC - **Reads**: `config/<environment>.toml`
# MAGIC - **Writes**: `<catalog>.bronze.*`, `<catalog>.silver.*`, `<catalog>.gold.*`
# MAGIC
# MAGIC The catalog itself, external locations and grants are created by the governance setup.

# COMMAND ----------

dbutils.widgets.dropdown("environment", "dev", ["dev", "qa", "prod"], "Environment")
environment = dbutils.widgets.get("environment")

# COMMAND ----------

from fitlake.config import load_config
from fitlake.tables import create_all

config = load_config(spark, environment)
setup = create_all(spark, config)
print(setup.describe(config.catalog))

# COMMAND ----------

# MAGIC %md The statements, as run (or as they would run: a setup that is current runs nothing).

# COMMAND ----------

displayHTML(setup.statements_html())
