# Databricks notebook source
# MAGIC %md
# MAGIC # Test
# MAGIC
# MAGIC Checks every table's row count, and a handful of exact values, against the manifest of the sample sets
# MAGIC produced so far. Fails naming each table with its expected and actual value.
# MAGIC
# MAGIC - **Reads**: every bronze, silver and gold table; `manifest_set<N>.json` beside the sample sets

# COMMAND ----------

# MAGIC %run ./01_config

# COMMAND ----------

dbutils.widgets.dropdown("set", "1", ["1", "2"], "Sets produced so far (1, or 1 and 2)")
dbutils.widgets.text("set_dir", "", "Folder of generated sets (default: the shipped ones)")
sample_set = int(dbutils.widgets.get("set"))
set_dir = dbutils.widgets.get("set_dir")

# COMMAND ----------

import json
from pathlib import Path

from fitlake.expectations import check, load_manifest, over_kafka
from fitlake.sample.generator import shipped_sets_dir

sets = Path(set_dir) if set_dir else shipped_sets_dir()
manifest = load_manifest(sets / f"manifest_set{sample_set}.json")
if config.bronze_source == "kafka":
    manifest = over_kafka(manifest, [sets / f"set{n}" for n in range(1, sample_set + 1)])
mismatches = check(spark, config, manifest)
checked = len(manifest.get("tables", {})) + len(manifest.get("values", []))

# COMMAND ----------

if mismatches:
    raise AssertionError(f"{len(mismatches)} of {checked} expectations failed:\n" + "\n".join(map(str, mismatches)))
print(f"All {checked} expectations hold after set {sample_set}.")
dbutils.notebook.exit(json.dumps({"set": sample_set, "checked": checked, "failed": 0}))
