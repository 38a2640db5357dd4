# Databricks notebook source
# MAGIC %md
# MAGIC # Config
# MAGIC
# MAGIC Included by the pipeline notebooks with `%run ./01_config`. Declares the widgets every notebook shares
# MAGIC and loads the environment's validated configuration into `config`: catalog, landing and checkpoint
# MAGIC locations, trigger interval, maximum workout length, age as-of date, where bronze reads Kafka records
# MAGIC from (`bronze_source`: files or kafka) and the Kafka cluster. Widget names are the job parameter names and
# MAGIC the config keys.

# COMMAND ----------

dbutils.widgets.dropdown("environment", "dev", ["dev", "qa", "prod"], "Environment")
dbutils.widgets.text("landing", "", "Landing root override")
dbutils.widgets.text("processing_time", "", "Continuous trigger interval")
dbutils.widgets.text("age_as_of", "", "Age bins as of (yyyy-MM-dd)")
dbutils.widgets.text("bronze_source", "", "Bronze Kafka records from: files | kafka (empty: config)")
dbutils.widgets.text("kafka_bootstrap_servers", "", "Kafka bootstrap servers override")

# COMMAND ----------

from fitlake.config import load_config

config = load_config(
    spark,
    dbutils.widgets.get("environment"),
    landing=dbutils.widgets.get("landing"),
    processing_time=dbutils.widgets.get("processing_time"),
    age_as_of=dbutils.widgets.get("age_as_of"),
    bronze_source=dbutils.widgets.get("bronze_source"),
    kafka_bootstrap_servers=dbutils.widgets.get("kafka_bootstrap_servers"),
    secrets=dbutils.secrets,  # read only if a Kafka client needs credentials
)
print(config.describe())
