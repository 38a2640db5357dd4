"""A class data sharing (CDS) archive for the local driver JVM: Spark's, Delta's and Hive's classes, pre-parsed.

A local run is a short-lived JVM that loads some 20,000 classes from a few hundred jars, reading, parsing and
verifying each one. A dynamic CDS archive (JDK 13+) keeps those classes as the JVM had them after a
representative run, and later JVMs map the archive instead of loading them again: measured on the 2-core machine,
13 % less driver CPU for a small increment (docs/performance.md).

The archive is made once, by ``fitlake jars`` (``make setup``): a training process runs the pipeline over the
shipped sample set 1 in a scratch data root with ``-XX:ArchiveClassesAtExit``, and the JVM writes the archive, into
the virtualenv, as it exits. Sessions then start with ``-XX:SharedArchiveFile`` when the archive exists. The JVM
checks the archive itself (its JVM build, the class path, each jar's size and time), and a mismatch is ignored,
never an error: the run is then as slow as without it. The archive's name is a digest of what it depends on (the
java executable, the pyspark installation, the jars), so a new jar set gets its own. Local sessions only;
Databricks keeps its own JVM.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyspark

# Quiet: an archive the JVM cannot use (another JVM build, a changed jar) is skipped with a warning on stdout,
# which would land in every notebook's console. It costs speed only, so it is not worth a line.
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
DUMP_ENV_VAR = "FITLAKE_CDS_DUMP"  # set only in the training process: where its JVM writes the archive
TRAINING_SECONDS = 900  # a hang guard for the training run; it takes about a minute on 2 cores


def archive_path(spark_jars: list[str]) -> Path:
    """Where the archive for this JVM, pyspark installation and jar set lives (it may not exist).

    Inside the Python environment (the virtualenv), beside the pyspark whose jars it holds: the JVM accepts an
    archive only on the very class path it was made with, so each environment needs its own, and it goes when
    the environment goes.
    """
    java = shutil.which("java") or ""
    key = "\n".join([os.path.realpath(java), str(Path(pyspark.__file__).parent), *sorted(spark_jars)])
    return Path(sys.prefix) / "fitlake-cds" / f"driver-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsa"


def java_options(spark_jars: list[str]) -> str:
    """The driver JVM's options to use the archive: none when there is none (naming a missing archive would
    turn off the JDK's own default archive too)."""
    archive = archive_path(spark_jars)
    return f"-XX:SharedArchiveFile={archive} {QUIET}" if archive.is_file() else ""


def ensure_archive(spark_jars: list[str]) -> Path | None:
    """Make the archive unless it exists; its path, or None when training failed (a warning says why: a slower
    JVM start is no reason to fail a setup)."""
    archive = archive_path(spark_jars)
    if archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    scratch = archive.with_name(f".{archive.name}.{os.getpid()}.tmp")
    with tempfile.TemporaryDirectory(prefix="fitlake-cds-") as data_root:
        command = [sys.executable, "-m", "fitlake.local.cds_training", str(scratch), data_root]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TRAINING_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            done = None
    if done is None or done.returncode != 0 or not scratch.is_file():
        scratch.unlink(missing_ok=True)
        detail = "timed out" if done is None else (done.stderr or done.stdout).strip()[-2000:]
        print(f"warning: no class data sharing archive (local runs start slower): {detail}", file=sys.stderr)
        return None
    scratch.replace(archive)  # whole or not at all: a reader never maps a half-written archive
    return archive


def dump_options() -> str | None:
    """The options of a training JVM (``DUMP_ENV_VAR`` names where it writes the archive), else None."""
    target = os.environ.get(DUMP_ENV_VAR)
    return f"-XX:ArchiveClassesAtExit={target} {QUIET}" if target else None
