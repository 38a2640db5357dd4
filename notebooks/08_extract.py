# Databricks notebook source
# MAGIC %md
# MAGIC # Database extract
# MAGIC
# MAGIC Copies new and changed registrations and gym sessions from the gyms' database (JDBC; Azure SQL in
# MAGIC production, the SQLite file under the data root locally) to the landing zone as CSV files in the
# MAGIC documented format. Incremental by each table's change column (the high-water mark) and resumable: a
# MAGIC re-run after a crash finishes the interrupted increment under the same file name. Run it before the
# MAGIC driver (a job task), or on its own.
# MAGIC
# MAGIC - **Reads**: `[extract]` of `config/<environment>.toml`; the source views; credentials from secrets
# MAGIC - **Writes**: `<landing>/registered_users/`, `<landing>/gym_logins/`; its state under `<checkpoints>/extract/`

# COMMAND ----------

# MAGIC %run ./01_config

# COMMAND ----------

dbutils.widgets.text("jdbc_url", "", "JDBC URL override (default: config; locally the SQLite file)")
dbutils.widgets.text("jdbc_driver", "", "JDBC driver class override")
dbutils.widgets.text("sources", "", "Sources, comma-separated (default: all configured)")
jdbc_url = dbutils.widgets.get("jdbc_url")
jdbc_driver = dbutils.widgets.get("jdbc_driver")
sources = [part.strip() for part in dbutils.widgets.get("sources").split(",") if part.strip()]

# COMMAND ----------

import json

from fitlake.extract import deliveries_frame, extract_all, load_extract_config

extract_config = load_extract_config(spark, config.environment, jdbc_url=jdbc_url, jdbc_driver=jdbc_driver)
deliveries = extract_all(spark, config, extract_config, dbutils.fs, dbutils.secrets.get, sources)
print(f"{len(deliveries)} increment(s) from {extract_config.shown_url}")

# COMMAND ----------

if deliveries:
    display(deliveries_frame(spark, deliveries))
dbutils.notebook.exit(json.dumps([delivery.as_dict() for delivery in deliveries]))
