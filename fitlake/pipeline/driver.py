"""The driver's batch run: one child notebook per layer, one after another, under one run lock.

Each layer notebook runs ``pipeline.run`` for its layer and exits with its ``RunSummary`` as JSON; the driver
combines them. On Databricks a child notebook runs in a Python process of its own, so the driver takes the
environment's run lock for the whole run and hands each child the lock's token (widget ``run_lock_token``):
no other run can start between two layers, and a child runs under the driver's lock instead of taking one.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pyspark.sql import SparkSession

from fitlake.config import PipelineConfig
from fitlake.parameters import BATCH, RUN_MODE
from fitlake.pipeline import RunSummary
from fitlake.pipeline.lock import run_lock
from fitlake.tables import BRONZE, GOLD, SILVER

# Each layer's notebook, relative to the driver (notebooks/05_driver).
LAYER_NOTEBOOKS = {BRONZE: "./02_bronze", SILVER: "./03_silver", GOLD: "./04_gold"}
RUN_LOCK_TOKEN = "run_lock_token"  # the layer notebooks' widget holding the driver's lock token

RunNotebook = Callable[[str, int, dict], str]  # dbutils.notebook.run(path, timeout_seconds, arguments)


def run_layer_notebooks(
    spark: SparkSession,
    config: PipelineConfig,
    layers: list[str],
    run_notebook: RunNotebook,
    arguments: dict[str, str],
) -> RunSummary:
    """Run the notebook of each of ``layers`` in batch mode, in layer order, with ``arguments`` (the driver's
    widgets) as its widgets; return their summaries combined. A failing notebook fails the run (its error
    propagates, later layers do not run); the lock is released however the run ends."""
    with run_lock(spark, config, BATCH) as holder:
        parts = []
        for layer in (layer for layer in LAYER_NOTEBOOKS if layer in layers):
            child = {**arguments, RUN_MODE.name: BATCH, RUN_LOCK_TOKEN: holder["run"]}
            parts.append(RunSummary.from_dict(json.loads(run_notebook(LAYER_NOTEBOOKS[layer], 0, child))))
    return RunSummary.combine(parts)
