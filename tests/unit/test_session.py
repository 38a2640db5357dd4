"""The local SparkSession and where its data lives."""

from __future__ import annotations

import pytest

from fitlake import platform
from fitlake.errors import ConfigError
from fitlake.local import cds, jars
from fitlake.local.layout import DATA_ROOT_ENV_VAR, LocalLayout, repo_root, resolve_data_root
from fitlake.local.session import DRIVER_MEMORY, DRIVER_MEMORY_MB, HEAP_OPTIONS, JIT_OPTIONS, local_spark


def test_session_is_local_utc_with_delta_few_partitions_and_no_ui(spark):
    conf = spark.sparkContext.getConf()
    assert spark.sparkContext.master.startswith("local[")
    assert spark.conf.get("spark.sql.session.timeZone") == platform.TIME_ZONE == "UTC"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert conf.get("spark.ui.enabled") == "false"
    assert "DeltaSparkSessionExtension" in conf.get("spark.sql.extensions")
    assert spark.conf.get("spark.sql.catalog.spark_catalog").endswith("DeltaCatalog")


def test_the_driver_jvm_runs_with_the_jit_and_heap_options(spark):
    """The options reach the running driver JVM (its own arguments), not only the session's settings, and its
    heap is fixed at the driver memory: the maximum (Spark's -Xmx) and the initial size (-Xms) both."""
    beans = getattr(spark.sparkContext._jvm, "java.lang.management.ManagementFactory")
    arguments = set(beans.getRuntimeMXBean().getInputArguments())
    assert "-XX:TieredStopAtLevel=1" in JIT_OPTIONS.split()
    assert {*JIT_OPTIONS.split(), *HEAP_OPTIONS.split()} <= arguments
    assert f"-Xmx{DRIVER_MEMORY}" in arguments
    assert beans.getMemoryMXBean().getHeapMemoryUsage().getInit() == DRIVER_MEMORY_MB * 1024**2
    collectors = {bean.getName() for bean in beans.getGarbageCollectorMXBeans()}
    assert collectors == {"PS Scavenge", "PS MarkSweep"}  # the parallel collector's young and old collections


def test_the_driver_jvm_runs_in_utc_whatever_the_machines_zone(spark):
    """The JVM's own default zone is the session's, set by name whatever the machine's zone: in any zone
    without "UTC" in its name Delta re-reads a table's whole state after each commit to verify its checksum
    file (platform.TIME_ZONE). The name is ours, not the machine's (a machine in UTC says ``Etc/UTC``)."""
    jvm = spark.sparkContext._jvm
    assert getattr(jvm, "java.lang.System").getProperty("user.timezone") == platform.TIME_ZONE
    assert getattr(jvm, "java.util.TimeZone").getDefault().getID() == platform.TIME_ZONE


def test_the_driver_jvm_maps_the_class_data_sharing_archive_that_fitlake_jars_made(spark):
    """make setup (fitlake jars) trains the archive for the cached jars, and the session's JVM is started on it.
    (That the JVM really loads classes from it shows with -Xlog:class+load: "source: shared objects file (top)".)"""
    archive = cds.archive_path(jars.cached_jars(jars.default_packages()))
    assert archive.is_file(), "no archive: run `fitlake jars` (make setup) first"
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert f"-XX:SharedArchiveFile={archive}" in runtime.getInputArguments()


def test_no_archive_no_option_and_a_training_jvm_dumps_instead(tmp_path, monkeypatch):
    """Naming a missing archive would turn off the JDK's own default archive too, so no option is given."""
    monkeypatch.setattr(cds.sys, "prefix", str(tmp_path))
    monkeypatch.delenv(cds.DUMP_ENV_VAR, raising=False)
    assert cds.java_options(["a.jar"]) == "" and cds.dump_options() is None
    archive = cds.archive_path(["a.jar"])
    assert archive.parent == tmp_path / "fitlake-cds" and archive != cds.archive_path(["b.jar"])
    archive.parent.mkdir()
    archive.write_bytes(b"")
    assert cds.java_options(["a.jar"]).startswith(f"-XX:SharedArchiveFile={archive} ")
    monkeypatch.setenv(cds.DUMP_ENV_VAR, str(tmp_path / "new.jsa"))
    assert cds.dump_options().startswith(f"-XX:ArchiveClassesAtExit={tmp_path / 'new.jsa'} ")


def test_tables_live_in_a_persistent_metastore_under_the_environments_root(spark, layout):
    spark.sql("CREATE SCHEMA IF NOT EXISTS layout_check")
    spark.sql("CREATE TABLE IF NOT EXISTS layout_check.t (a INT) USING DELTA")
    location = spark.sql("DESCRIBE DETAIL layout_check.t").first().location
    assert location.startswith(f"file:{layout.warehouse}")
    assert (layout.metastore / "service.properties").is_file()
    assert spark.conf.get("spark.sql.catalogImplementation") == "hive"


def test_hives_session_folder_lies_under_the_environments_root_not_the_temporary_folder(spark, layout):
    """Hive's per-session resources folder (``<session id>_resources``, by default in the system's temporary
    folder and never removed) is one folder beside the metastore, made when the metastore is first used."""
    spark.sql("SHOW DATABASES").collect()
    hive_conf = spark.sparkContext._jsc.hadoopConfiguration()
    assert hive_conf.get("hive.downloaded.resources.dir") == str(layout.env_root / "hive-resources")
    assert (layout.env_root / "hive-resources").is_dir()


def test_a_second_environment_in_the_same_process_is_refused(spark, layout):
    with pytest.raises(ConfigError, match="its own process"):
        local_spark(LocalLayout(layout.data_root, "prod"))


def test_the_same_environment_returns_the_running_session(spark, layout):
    assert local_spark(layout) is spark


def test_environments_have_separate_roots(tmp_path):
    roots = {env: LocalLayout(tmp_path, env).env_root for env in ("dev", "qa", "prod")}
    assert len(set(roots.values())) == 3
    assert all(root.parent == tmp_path for root in roots.values())


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="dev, qa, prod"):
        LocalLayout(tmp_path, "staging")


def test_data_root_flag_beats_environment_variable_beats_default(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_ROOT_ENV_VAR, raising=False)
    assert resolve_data_root() == (repo_root() / ".fitlake").resolve()
    monkeypatch.setenv(DATA_ROOT_ENV_VAR, str(tmp_path / "from-env"))
    assert resolve_data_root() == tmp_path / "from-env"
    assert resolve_data_root(str(tmp_path / "from-flag")) == tmp_path / "from-flag"


def test_storage_path_matches_the_dbfs_mapping_locally(spark, layout):
    assert platform.storage_path(spark, "/demo/x/") == f"file:{layout.env_root}/dbfs/fitlake/demo/x"


def test_storage_path_on_databricks_is_under_dbfs(spark, monkeypatch):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    assert platform.storage_path(spark, "demo/x") == "dbfs:/fitlake/demo/x"
