"""The class data sharing archive's training run (``fitlake.local.cds.ensure_archive`` starts it as a process of
its own): it drives the CLI as a first user would, so it sits above it, and ``cds`` stays below the session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from fitlake import cli
from fitlake.local.cds import DUMP_ENV_VAR, TRAINING_SECONDS


def train(scratch: Path, data_root: Path) -> None:
    """The training run: what a user's first runs do (land sample set 1, ``fitlake run``), in a scratch data root;
    then the JVM writes the archive as it exits."""
    os.environ[DUMP_ENV_VAR] = str(scratch)
    for command in (["produce", "--set", "1"], ["run"]):
        if cli.main([*command, "--data-root", str(data_root)]) != 0:
            raise SystemExit(f"fitlake {command[0]} failed in the training run")
    spark = SparkSession.getActiveSession()
    process = spark.sparkContext._gateway.proc  # the driver JVM (spark-submit execs into it)
    spark.stop()
    process.stdin.close()  # the JVM exits when its Python side hangs up, writing the archive on the way out
    process.wait(timeout=TRAINING_SECONDS)


if __name__ == "__main__":
    train(Path(sys.argv[1]), Path(sys.argv[2]))
