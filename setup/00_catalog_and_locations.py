# Databricks notebook source
# MAGIC %md
# MAGIC # Setup 00: catalog and external locations
# MAGIC
# MAGIC Creates, in Unity Catalog, the environment's external locations (landing zone, checkpoints, the catalog's
# MAGIC managed storage; all through the environment's storage credential), then the catalog with its managed
# MAGIC location and the `bronze`, `silver` and `gold` schemas. Idempotent: every statement is `IF NOT EXISTS`, so a
# MAGIC re-run changes nothing (and never alters an object that already exists).
# MAGIC
# MAGIC - **Reads**: the `[governance]` section of `config/<environment>.toml`
# MAGIC - **Writes**: Unity Catalog objects: external locations, `<catalog>`, `<catalog>.bronze|silver|gold`
# MAGIC
# MAGIC Needs an existing metastore, storage credential and groups (see `docs/governance-and-deployment.md`).
# MAGIC Locally there is no Unity Catalog: the notebook shows the SQL it would run and marks every statement as
# MAGIC skipped.
# MAGIC Next: `01_schemas_and_tables`; grants come last, in `03_grants`.

# COMMAND ----------

dbutils.widgets.dropdown("environment", "dev", ["dev", "qa", "prod"], "Environment")
environment = dbutils.widgets.get("environment")

# COMMAND ----------

import json

from fitlake.governance import apply, counts, load_governance, render_catalog_sql, report

governance = load_governance(environment)
results = apply(spark, render_catalog_sql(governance))
print(report(results, governance))

# COMMAND ----------

display(spark.createDataFrame(results, "statement STRING, status STRING"))

# COMMAND ----------

dbutils.notebook.exit(json.dumps(counts(results)))
