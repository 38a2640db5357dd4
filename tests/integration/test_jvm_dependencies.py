"""Spark's JVM packages end to end: resolved once, then offline; and the mvn path where only mvn gets out.

These start separate Python processes (and JVMs), so they take tens of seconds each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from fitlake.local import jars

pytestmark = pytest.mark.integration

# JVM options that make Spark's resolver (and only it: mvn does not read SPARK_SUBMIT_OPTS) fail to reach
# any remote repository, as behind a proxy that only mvn is configured for.
BLOCKED_RESOLVER = "-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=9 -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=9"


def _can_unshare_network() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare_network(), reason="needs `unshare -n` (root) to take the network away")
def test_later_runs_work_with_no_network(tmp_path, spark):
    """The session fixture has resolved and cached the jars; a new process then needs no network at all."""
    assert jars.cached_jars(jars.default_packages())
    script = textwrap.dedent(
        f"""
        from fitlake.local.layout import LocalLayout
        from fitlake.local.session import local_spark
        spark = local_spark(LocalLayout({str(tmp_path)!r}, "qa"))
        spark.range(3).write.format("delta").saveAsTable("offline_check")
        print("rows", spark.table("offline_check").count())
        """
    )
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", f'ip link set lo up && exec "{sys.executable}" -c "$0"', script],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rows 3" in result.stdout


@pytest.mark.skipif(shutil.which("mvn") is None, reason="needs the mvn client")
def test_mvn_prefetch_feeds_sparks_resolver_when_only_mvn_reaches_maven_central(tmp_path):
    """A fresh home: Spark's resolver is blocked from the network, mvn is not. ensure_jars must succeed
    by pre-fetching into that home's ~/.m2, which Spark's resolver then reads."""
    env = dict(
        os.environ,
        SPARK_SUBMIT_OPTS=f"-Duser.home={tmp_path} {BLOCKED_RESOLVER}",
        MAVEN_OPTS=f"-Duser.home={tmp_path}",
        FITLAKE_IVY_DIR=str(tmp_path / "ivy"),
    )
    env.pop(jars.VIA_MVN_ENV_VAR, None)
    code = "from fitlake.local.jars import ensure_jars; print('jars', len(ensure_jars()))"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pre-fetching them with mvn" in result.stderr
    repository = tmp_path / ".m2" / "repository"
    assert (repository / "io" / "delta").is_dir()
    # Spark itself comes with pyspark: delta-spark's provided dependencies on it are not fetched.
    assert not (repository / "org" / "apache" / "spark" / "spark-core_2.13").exists()
    manifest = list((tmp_path / "ivy").glob("fitlake-resolved-*.json"))
    assert manifest, "the resolution must be recorded for offline use"


def test_blocked_resolver_without_mvn_fails_with_guidance(tmp_path):
    env = dict(
        os.environ,
        SPARK_SUBMIT_OPTS=f"-Duser.home={tmp_path} {BLOCKED_RESOLVER}",
        FITLAKE_IVY_DIR=str(tmp_path / "ivy"),
        FITLAKE_MVN=str(tmp_path / "no-mvn-here"),
    )
    code = "from fitlake.local.jars import ensure_jars; ensure_jars()"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "fitlake jars --via-mvn" in result.stderr
