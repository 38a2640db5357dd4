# Databricks notebook source
# MAGIC %md
# MAGIC # Producer
# MAGIC
# MAGIC Copies a sample set into the landing zone, as a feed arriving: set 1, then set 2. Each file is copied
# MAGIC under a hidden name and then renamed, so a running stream never reads half a file.
# MAGIC
# MAGIC - **Reads**: the shipped sample sets in `fitlake/sample/data/set<N>/` (or `set_dir`)
# MAGIC - **Writes**: `<landing>/{date_lookup,registered_users,gym_logins,kafka_multiplex}/`

# COMMAND ----------

# MAGIC %run ./01_config

# COMMAND ----------

dbutils.widgets.dropdown("set", "1", ["1", "2"], "Sample set")
dbutils.widgets.text("set_dir", "", "Folder of generated sets (default: the shipped ones)")
sample_set = int(dbutils.widgets.get("set"))
set_dir = dbutils.widgets.get("set_dir")

# COMMAND ----------

from pathlib import Path

from fitlake.producer import produce
from fitlake.sample.generator import shipped_sets_dir

sets = Path(set_dir) if set_dir else shipped_sets_dir()
written = produce(sets / f"set{sample_set}", config.landing, dbutils.fs.cp, dbutils.fs.mv)
print(f"Set {sample_set}: {len(written)} files landed under {config.landing}")
dbutils.notebook.exit(str(len(written)))
