"""Spark's JVM packages: coordinates, the offline manifest, the mvn fallback's error handling."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ElementTree
from importlib import metadata

import pytest

from fitlake.errors import DependencyError
from fitlake.local import jars


def test_delta_coordinate_matches_the_installed_spark_and_delta():
    spark_minor = ".".join(metadata.version("pyspark").split(".")[:2])
    assert jars.delta_coordinate() == f"io.delta:delta-spark_{spark_minor}_2.13:{metadata.version('delta-spark')}"


def test_pinned_pair_is_spark_4_1_1_with_delta_4_3_1():
    assert metadata.version("pyspark") == "4.1.1"
    assert metadata.version("delta-spark") == "4.3.1"


def test_resolution_is_recorded_and_reused_only_while_every_jar_exists(tmp_path, monkeypatch):
    monkeypatch.setenv(jars.IVY_DIR_ENV_VAR, str(tmp_path / "ivy"))
    packages = ("g:a:1",)
    first, second = tmp_path / "a.jar", tmp_path / "b.jar"
    first.write_bytes(b"jar")
    second.write_bytes(b"jar")
    assert jars.cached_jars(packages) is None
    saved = jars.save_resolution(packages, f"file://{first},file:{second}")
    assert saved == [str(first), str(second)]
    assert jars.cached_jars(packages) == saved
    assert jars.cached_jars(("g:other:1",)) is None
    second.unlink()
    assert jars.cached_jars(packages) is None


def test_the_session_under_test_was_built_from_resolved_jars(spark):
    cached = jars.cached_jars(jars.default_packages())
    assert cached, "the first session must record what Spark's resolver produced"
    loaded = spark.sparkContext.getConf().get("spark.jars")
    assert any("delta-spark" in jar for jar in loaded.split(","))


def test_mvn_prefetch_without_a_maven_client_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(jars.MVN_ENV_VAR, str(tmp_path / "absent"))
    with pytest.raises(DependencyError, match="No Maven client found"):
        jars.prefetch_with_mvn(("g:a:1",))


@pytest.mark.skipif(shutil.which("mvn") is None, reason="needs the mvn client")
def test_mvn_failure_names_the_coordinate_and_the_settings_file(monkeypatch):
    with pytest.raises(DependencyError, match=r"(?s)io.fitlake.absent:nothing:0.0.1.*settings.xml"):
        jars.prefetch_with_mvn(("io.fitlake.absent:nothing:0.0.1",), transitive=False)


def _pom_dependencies(pom: str) -> list[tuple[str, str, str, list[str]]]:
    """(group, artifact, version, ["group:artifact" excluded]) of each dependency in ``pom``."""
    space = {"m": "http://maven.apache.org/POM/4.0.0"}

    def text(element: ElementTree.Element, *keys: str) -> list[str]:
        return [element.findtext(f"m:{key}", namespaces=space) for key in keys]

    found = []
    for dependency in ElementTree.fromstring(pom).iterfind("m:dependencies/m:dependency", space):
        exclusions = dependency.iterfind("m:exclusions/m:exclusion", space)
        excluded = [":".join(text(exclusion, "groupId", "artifactId")) for exclusion in exclusions]
        found.append((*text(dependency, "groupId", "artifactId", "version"), excluded))
    return found


def test_the_prefetch_pom_makes_each_package_a_dependency_so_their_provided_trees_stay_out():
    """As dependencies (not roots), the packages' own provided dependencies (Spark under delta-spark) are not
    fetched; a transitive fetch excludes nothing, a fetch by name excludes everything under each package."""
    packages = ("io.delta:delta-spark_4.1_2.13:4.3.1", "org.xerial:sqlite-jdbc:3.54.1.0")
    assert _pom_dependencies(jars.prefetch_pom(packages)) == [
        ("io.delta", "delta-spark_4.1_2.13", "4.3.1", []),
        ("org.xerial", "sqlite-jdbc", "3.54.1.0", []),
    ]
    alone = _pom_dependencies(jars.prefetch_pom(packages, transitive=False))
    assert [excluded for *_, excluded in alone] == [["*:*"], ["*:*"]]


def test_the_prefetch_pom_escapes_what_it_is_given():
    (dependency,) = _pom_dependencies(jars.prefetch_pom(("g<&>:a:1",)))
    assert dependency[0] == "g<&>"


def test_missing_artifacts_are_read_from_the_resolver_report():
    report = """
        [NOT FOUND  ] org.slf4j#slf4j-api;2.0.13!slf4j-api.jar (2ms)
        [NOT FOUND  ] com.fasterxml.jackson.core#jackson-databind;2.13.5!jackson-databind.jar(bundle) (0ms)
        ::::::::::::::::::::::::::::::::::::::::::::::
        ::          UNRESOLVED DEPENDENCIES         ::
        :: io.delta#delta-storage;4.3.1: not found
    """
    assert jars.missing_artifacts(report) == (
        "com.fasterxml.jackson.core:jackson-databind:2.13.5",
        "io.delta:delta-storage:4.3.1",
        "org.slf4j:slf4j-api:2.0.13",
    )
