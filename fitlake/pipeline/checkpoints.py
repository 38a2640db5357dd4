"""A lost or damaged checkpoint stops the run with the way out; ``fitlake recover FLOW`` rebuilds it.

A flow's checkpoint is its memory of what it has read. Started without it, a query reads all its input
again: MERGEs shrug that off, but appends do not, so bronze and the quarantines would hold every row twice.
And Spark fails on a damaged one with an error that names neither the flow nor a fix. So before a flow
starts, ``check`` refuses:

- a checkpoint that is missing (or has no metadata) while the flow's table has been written (a version after
  the CREATE): it was deleted, or replaced by an empty folder;
- a checkpoint whose metadata or newest offsets or commits entry cannot be read (``checkpoint_damage``).

``recover`` moves the checkpoint aside (kept, named ``<checkpoint>.lost-<UTC time>``) and runs the flow once on
a fresh one, to the end of its input, with ``writing_only_new_rows``: it reads everything again, its MERGEs
change only what differs, and its appends add only the rows their tables do not hold yet. Nothing is lost (the
input is read whole) and nothing doubles (what is held is not written again). The next run goes on from there.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from pyspark.sql import SparkSession

from fitlake.config import PipelineConfig
from fitlake.errors import FitlakeError
from fitlake.pipeline.flow import Flow
from fitlake.streaming import (
    checkpoint_damage,
    checkpoint_state,
    hadoop_file_ops,
    latest_commit,
    list_files,
    list_folders,
    writing_only_new_rows,
)

LOST_SUFFIX = ".lost-"
RETIRED_SUFFIX = ".retired-"


class CheckpointError(FitlakeError):
    """A flow's checkpoint is missing or damaged; the message names the flow and the command that rebuilds it."""


def check(spark: SparkSession, config: PipelineConfig, flow: Flow) -> None:
    """Refuse to start ``flow`` on a lost or damaged checkpoint."""
    checkpoint, table = flow.checkpoint(config), flow.table(config)
    if checkpoint_state(spark, checkpoint) is None:
        version = latest_commit(spark, table)[0]
        if version > 0:
            raise CheckpointError(
                f"The checkpoint of {flow.name} ({checkpoint}) is missing, but {table} has been written (version "
                f"{version}): started afresh, the flow would read all its input again and append rows twice. "
                + _way_out(config, flow)
            )
        return
    drop_interrupted_writes(spark, checkpoint)
    damage = checkpoint_damage(spark, checkpoint)
    if damage is not None:
        problem = f"The checkpoint of {flow.name} ({checkpoint}) is damaged: {damage}. "
        raise CheckpointError(problem + _way_out(config, flow))


# Spark writes each file of a checkpoint's logs (``metadata``, ``offsets/<n>``, ``commits/<n>``, a source's
# ``sources/<i>/<n>`` or ``<n>.compact``) as a hidden temp file, ``.<name>.<uuid>.tmp`` (and its ``.crc``), then
# renames it into place. A process killed between the two leaves the temp file; it was never part of the log,
# but Spark 4.1 then finds the offsets folder of a fresh checkpoint not empty and refuses to start batch 0
# (STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY), in every run after. The other logs' readers skip hidden names, so
# a leftover there does no harm, but nothing ever removes it either. Removing any of them loses nothing.
UUID = r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
INTERRUPTED_WRITE = re.compile(rf"\.?\.(metadata|\d+(\.compact)?)\.{UUID}\.tmp(\.crc)?")


def drop_interrupted_writes(spark: SparkSession, checkpoint: str) -> None:
    """Remove the temp files interrupted writes left in ``checkpoint``'s logs (``check`` does, before each start)."""
    root = checkpoint.rstrip("/")
    sources = [f"{root}/sources/{name}" for name in list_folders(spark, f"{root}/sources")]
    for folder in (root, f"{root}/offsets", f"{root}/commits", *sources):
        for name, _, _ in list_files(spark, folder) or []:
            if not INTERRUPTED_WRITE.fullmatch(name):
                continue
            ops = hadoop_file_ops(spark, f"{folder}/{name}")
            if ops is not None:
                ops.delete()


def _way_out(config: PipelineConfig, flow: Flow) -> str:
    return (
        f"Rebuild it with `fitlake recover {flow.name} --env {config.environment}` (on Databricks: "
        f"fitlake.pipeline.recover in a notebook); see docs/pipeline.md, 'Lost or damaged checkpoints'."
    )


def recover(spark: SparkSession, config: PipelineConfig, flow: Flow) -> str:
    """Rebuild ``flow``'s checkpoint (see the module's docstring); returns where the old one was moved, or ""."""
    checkpoint = flow.checkpoint(config).rstrip("/")
    moved = move_aside(spark, checkpoint, LOST_SUFFIX)
    with writing_only_new_rows():
        flow.run_once(spark, config)
    return moved


def move_aside(spark: SparkSession, checkpoint: str, suffix: str) -> str:
    """Rename ``checkpoint`` to ``<checkpoint><suffix><UTC time>`` (kept, never read again); the new name, or ""
    when there was no checkpoint."""
    if not exists(spark, checkpoint):
        return ""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = f"{checkpoint}{suffix}{stamp}"
    ops = hadoop_file_ops(spark, checkpoint)
    if ops is None or not ops.rename(target):
        raise FitlakeError(f"Could not move the checkpoint {checkpoint} aside to {target}.")
    return target


def exists(spark: SparkSession, path: str) -> bool:
    ops = hadoop_file_ops(spark, path)
    return ops is not None and ops.exists()
