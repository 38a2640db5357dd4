"""What each flow's query has already seen, so that a batch run leaves a flow with nothing new unstarted.

Starting a streaming query that then finds nothing to do costs seconds (planning, the source's listing or
Delta log, the checkpoint); a batch run of twelve flows with nothing new paid that twelve times. After a flow
completes a batch run, a small record goes into its checkpoint folder: the state of everything it reads
(each landing folder's listing digest, each input table's newest commit) taken before the query started,
and the checkpoint's own state after it stopped. The next batch run skips the flow only when both are
exactly the same again. That is the case in which the query would find nothing new, so skipping changes no
table. Anything else runs the query as before:

- a new, removed or rewritten landing file, or a new commit on an input table (even one that adds no rows);
- a checkpoint with a batch planned but not committed (a crash: the restart must replay it), or a
  checkpoint deleted or replaced (the record lives inside it, and the query id must match);
- a source that cannot be listed cheaply (a Kafka topic), or a session without a JVM gateway.

Continuous runs never skip: their queries wait for new data by design.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pyspark.sql import SparkSession

from fitlake.config import PipelineConfig
from fitlake.pipeline.flow import Flow
from fitlake.streaming import checkpoint_state, list_files, listing_digest, read_small_file, write_small_file

RECORD = "fitlake_seen.json"
Commits = Callable[[str], tuple[int, str]]


def inputs_state(spark: SparkSession, config: PipelineConfig, flow: Flow, commit_of: Commits) -> dict | None:
    """The state of everything ``flow`` reads, or None when some of it cannot be known without running it."""
    inputs = flow.inputs(config)
    if inputs is None:
        return None
    folders = {folder: listing_digest(spark, folder) for folder in inputs.folders}
    if None in folders.values():
        return None
    return {"folders": folders, "tables": {table: list(commit_of(table)) for table in inputs.tables}}


def nothing_new(spark: SparkSession, config: PipelineConfig, flow: Flow, inputs: dict | None) -> bool:
    """True when ``flow``'s last completed batch run saw exactly these inputs and its checkpoint is unchanged."""
    checkpoint = flow.checkpoint(config)
    state = checkpoint_state(spark, checkpoint)
    if inputs is None or state is None or RECORD not in {name for name, _, _ in list_files(spark, checkpoint)}:
        return False
    try:
        record = json.loads(read_small_file(spark, _path(checkpoint)))
    except ValueError:  # a record torn by a crash while it was written: the flow runs and writes it again
        return False
    return record == {"inputs": inputs, "checkpoint": state}


def remember(spark: SparkSession, config: PipelineConfig, flow: Flow, inputs: dict | None) -> None:
    """Record that ``flow``'s query, started after ``inputs`` were taken, completed with every batch committed."""
    checkpoint = flow.checkpoint(config)
    state = checkpoint_state(spark, checkpoint)
    if inputs is None or state is None or state["planned"] != state["committed"]:
        return
    write_small_file(spark, _path(checkpoint), json.dumps({"inputs": inputs, "checkpoint": state}, sort_keys=True))


def _path(checkpoint: str) -> str:
    return f"{checkpoint.rstrip('/')}/{RECORD}"
