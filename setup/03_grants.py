# Databricks notebook source
# MAGIC %md
# MAGIC # Setup 03: grants and ownership
# MAGIC
# MAGIC Grants the environment's privileges to its groups (for example analysts: `USE CATALOG` on the catalog,
# MAGIC `USE SCHEMA` and `SELECT` on `gold`), then makes the CI service principal the owner of the catalog and of
# MAGIC the external locations. Safe to re-apply: granting a privilege a principal already holds changes nothing.
# MAGIC Grants only add: a grant removed from the config is not revoked here (`REVOKE` it by hand).
# MAGIC
# MAGIC - **Reads**: the `[governance]` section of `config/<environment>.toml`
# MAGIC - **Writes**: Unity Catalog privileges and owners on the catalog, its schemas and the external locations
# MAGIC
# MAGIC Runs after `00_catalog_and_locations` and `01_schemas_and_tables` (the objects must exist). Locally there is
# MAGIC no Unity Catalog: the notebook shows the SQL it would run and marks every statement as skipped.

# COMMAND ----------

dbutils.widgets.dropdown("environment", "dev", ["dev", "qa", "prod"], "Environment")
environment = dbutils.widgets.get("environment")

# COMMAND ----------

import json

from fitlake.governance import apply, counts, load_governance, render_grants_sql, report

governance = load_governance(environment)
results = apply(spark, render_grants_sql(governance))
print(report(results, governance))

# COMMAND ----------

display(spark.createDataFrame(results, "statement STRING, status STRING"))

# COMMAND ----------

dbutils.notebook.exit(json.dumps(counts(results)))
