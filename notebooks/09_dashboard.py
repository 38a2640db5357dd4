# Databricks notebook source
# MAGIC %md
# MAGIC # Dashboard
# MAGIC
# MAGIC Charts of the gold outputs for analysts, drawn with matplotlib (rendered here and in the local run record):
# MAGIC
# MAGIC 1. heart rate per workout by age bin and gender (lowest, average, highest), from `gold.workout_bpm_summary`;
# MAGIC 2. minutes in the gym against minutes exercising, per gym and day, from `gold.gym_summary`;
# MAGIC 3. completed workouts per day, from `silver.completed_workouts` (the gold summary has no dates).
# MAGIC
# MAGIC The daily charts show the most recent `days` days with data (0: all). Writes nothing; a chart of an empty
# MAGIC table says there is no data yet.

# COMMAND ----------

# MAGIC %run ./01_config

# COMMAND ----------

dbutils.widgets.text("days", "30", "Days shown in the daily charts (0: all)")
days = int(dbutils.widgets.get("days") or 0)

# COMMAND ----------

from fitlake import dashboard
from fitlake.tables import GOLD, GYM_SUMMARY, SILVER

# COMMAND ----------

# MAGIC %md ## Heart rate per workout

# COMMAND ----------

summary = spark.table(config.table(GOLD, "workout_bpm_summary"))
display(dashboard.heart_rate_figure(dashboard.heart_rate_by_age_and_gender(summary).collect()))

# COMMAND ----------

# MAGIC %md ## Gym usage

# COMMAND ----------

gym_days = dashboard.last_days(dashboard.gym_usage_per_day(spark.table(config.table(GOLD, GYM_SUMMARY))), days)
display(dashboard.gym_figure(gym_days.collect()))

# COMMAND ----------

# MAGIC %md ## Workouts per day

# COMMAND ----------

workout_days = dashboard.last_days(
    dashboard.workouts_per_day(spark.table(config.table(SILVER, "completed_workouts"))), days
)
display(dashboard.workouts_figure(workout_days.collect()))
