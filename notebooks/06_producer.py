# Databricks notebook source
# MAGIC %md
# MAGIC # Producer
# MAGIC
# MAGIC Delivers a sample set as a feed arriving: set 1, then set 2.
# MAGIC
# MAGIC - `target` **files**: copies the set into the landing zone. Each file is copied under a hidden name and
# MAGIC   then renamed, so a running stream never reads half a file.
# MAGIC - `target` **kafka**: publishes each record of the set's `kafka_multiplex` files to its topic (`user_info`,
# MAGIC   `bpm`, `workout`) and partition, with its original timestamp as the Kafka CreateTime, on the cluster of
# MAGIC   the config's `[kafka]` section (locally: the local broker). Lines that are not publishable records are
# MAGIC   listed with the reason, never dropped silently. The other sources still arrive as files: land them with
# MAGIC   `target` files, or from the database extract.
# MAGIC
# MAGIC - **Reads**: the shipped sample sets in `fitlake/sample/data/set<N>/` (or `set_dir`)
# MAGIC - **Writes**: `<landing>/{date_lookup,registered_users,gym_logins,kafka_multiplex}/`, or the Kafka topics

# COMMAND ----------

# MAGIC %run ./01_config

# COMMAND ----------

dbutils.widgets.dropdown("set", "1", ["1", "2"], "Sample set")
dbutils.widgets.text("set_dir", "", "Folder of generated sets (default: the shipped ones)")
dbutils.widgets.dropdown("target", "files", ["files", "kafka"], "Deliver to")
sample_set = int(dbutils.widgets.get("set"))
set_dir = dbutils.widgets.get("set_dir")
target = dbutils.widgets.get("target")

# COMMAND ----------

from pathlib import Path

from fitlake.parameters import FROM_FILES
from fitlake.sample.generator import shipped_sets_dir
from fitlake.sample.producer import produce
from fitlake.sample.spec import set_folder

sets = Path(set_dir) if set_dir else shipped_sets_dir()
if target == FROM_FILES:
    written = produce(set_folder(sets, sample_set), config.landing, dbutils.fs.cp, dbutils.fs.mv)
    print(f"Set {sample_set}: {len(written)} files landed under {config.landing}")
    dbutils.notebook.exit(str(len(written)))

# COMMAND ----------

from fitlake.kafka import settings as kafka_settings
from fitlake.sample.kafka_producer import publish_set

login = kafka_settings.credentials(config.kafka, config.secrets)
report = publish_set(set_folder(sets, sample_set), kafka_settings.python_client_config(config.kafka, login))
print(f"Set {sample_set} to {config.kafka.bootstrap_servers}:")
print("\n".join(report.lines()))
dbutils.notebook.exit(str(report.total))
