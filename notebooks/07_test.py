# Databricks notebook source
# MAGIC %md
# MAGIC # Test
# MAGIC
# MAGIC Checks every silver and gold table's full contents against the rows the generator expects after the sample
# MAGIC sets produced so far, printing each table's expected and actual row count, and the bronze tables' row counts
# MAGIC against the sets' manifest. Fails naming each table that differs with a few of its missing and extra rows,
# MAGIC or its expected and actual row count.
# MAGIC
# MAGIC - **Reads**: every bronze, silver and gold table; `manifest_set<N>.json` and `expected_set<N>/` beside the
# MAGIC   sample sets

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

from fitlake.sample.expectations import (
    check,
    compare_tables,
    expected_over_kafka,
    load_expected,
    load_manifest,
    not_compared_in_full,
    over_kafka,
)
from fitlake.sample.generator import shipped_sets_dir
from fitlake.sample.spec import manifest_path, set_folder

sets = Path(set_dir) if set_dir else shipped_sets_dir()
manifest = load_manifest(manifest_path(sets, sample_set))
expected = load_expected(sets, sample_set)
if config.reads_topics:
    manifest = over_kafka(manifest, [set_folder(sets, n) for n in range(1, sample_set + 1)])
    expected = expected_over_kafka(expected)
# Row counts and values of the tables compared in full below are not checked twice: what remains is bronze's.
manifest = not_compared_in_full(manifest, expected)
mismatches = check(spark, config, manifest)
checked = len(manifest.get("tables", {})) + len(manifest.get("values", []))
comparisons = compare_tables(spark, config, expected)
differing = [c for c in comparisons if not c.equal]
print("\n".join(map(str, comparisons)))

# COMMAND ----------

failures = []
if mismatches:
    failures.append(f"{len(mismatches)} of {checked} expectations failed:\n" + "\n".join(map(str, mismatches)))
if differing:
    failures.append(
        f"{len(differing)} of {len(comparisons)} tables differ from their expected rows:\n"
        + "\n".join(map(str, differing))
    )
if failures:
    raise AssertionError("\n".join(failures))
print(f"All {checked} expectations hold after set {sample_set}.")
print(f"All {len(comparisons)} silver and gold tables hold exactly their expected rows.")
result = {"set": sample_set, "checked": checked, "tables_compared": len(comparisons), "failed": 0}
dbutils.notebook.exit(json.dumps(result))
