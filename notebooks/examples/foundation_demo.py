# Databricks notebook source
# MAGIC %md
# MAGIC # fitlake foundation demo
# MAGIC
# MAGIC Shows that this notebook gets real Delta tables, MERGE and Structured Streaming, on Databricks or on
# MAGIC the local runtime alike.
# MAGIC
# MAGIC - **Writes** `<schema>.demo_heart_rate` (Delta), landing files and a checkpoint under fitlake's
# MAGIC   working storage.
# MAGIC - **Steps**: create the table, MERGE a first batch, land a second batch as JSON files and stream them
# MAGIC   in with an idempotent MERGE per micro-batch, show the table. Running it again changes nothing.

# COMMAND ----------

dbutils.widgets.text("schema", "fitlake_demo", "Schema")
schema = dbutils.widgets.get("schema")

# COMMAND ----------

from fitlake import foundation_demo as demo
from fitlake import platform
from fitlake.identifiers import qualified
from fitlake.streaming import StreamTarget, merge_into, merge_stream, read_json_files

table = qualified(schema, "demo_heart_rate")
landing = platform.storage_path(spark, f"demo/{schema}/landing")
checkpoint = platform.storage_path(spark, f"demo/{schema}/checkpoints/demo_heart_rate")

# COMMAND ----------

# MAGIC %md ## 1. Create the Delta table and MERGE the first batch

# COMMAND ----------

spark.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
demo.create_table(spark, table)
merge_into(spark, demo.readings(demo.raw_readings(spark, 1)), table, demo.READING_KEY)
display(spark.table(table).orderBy("device_id", "time"))

# COMMAND ----------

# MAGIC %md ## 2. Land the second batch as JSON files and stream it in

# COMMAND ----------

demo.raw_readings(spark, 2).coalesce(1).write.mode("overwrite").json(landing)
stream = demo.readings(read_json_files(spark, landing, demo.READING_SCHEMA))
query = merge_stream(stream, StreamTarget(table=table, checkpoint=checkpoint), demo.READING_KEY)
query.awaitTermination()
print(f"Stream done: {query.lastProgress['numInputRows'] if query.lastProgress else 0} rows in its last micro-batch")

# COMMAND ----------

# MAGIC %md ## 3. The table now

# COMMAND ----------

result = spark.table(table).orderBy("device_id", "time")
display(result)

# COMMAND ----------

# MAGIC %sql
# MAGIC SHOW SCHEMAS

# COMMAND ----------

import json

dbutils.notebook.exit(json.dumps({"table": table, "rows": result.count()}))
