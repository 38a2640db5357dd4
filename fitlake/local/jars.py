"""Spark's JVM packages (Delta, the Kafka source, the SQLite JDBC driver): resolved once, then used offline.

Resolution goes through Spark's own resolver (``spark.jars.packages``), which reads the local Maven
repository (``~/.m2/repository``) before it tries Maven Central. After the first successful resolution
the list of resolved jar files is kept in a manifest beside the Ivy cache, and later sessions pass those
files as ``spark.jars``: no resolver runs, so they start faster and work with no network.

Where Spark's resolver cannot reach Maven Central but the ``mvn`` client can (a proxy or mirror set in
``~/.m2/settings.xml``), ``fitlake jars`` pre-fetches the packages with ``mvn dependency:resolve`` into the
local Maven repository first; Spark's resolver then finds everything there.

The local Kafka broker's jars are resolved here too, with Ivy, onto a classpath of their own (``broker_jars``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from xml.sax.saxutils import escape

from fitlake.errors import DependencyError

SCALA_BINARY_VERSION = "2.13"
IVY_DIR_ENV_VAR = "FITLAKE_IVY_DIR"
VIA_MVN_ENV_VAR = "FITLAKE_JARS_VIA_MVN"
MVN_ENV_VAR = "FITLAKE_MVN"  # the Maven client to use; default: mvn on PATH
MVN_ROUNDS = 3

# How Ivy reports what it could not find: an artifact (jar) or a whole module (its POM).
_NOT_FOUND_ARTIFACT = re.compile(r"\[NOT FOUND\s*\]\s+([^#\s]+)#([^;\s]+);([^!\s]+)!")
_NOT_FOUND_MODULE = re.compile(r"::\s+([^#\s]+)#([^;\s]+);([^:\s]+):\s+not found")


def delta_coordinate() -> str:
    """Delta's Maven coordinate matching the installed pyspark and delta-spark (suffixed by Spark minor)."""
    spark_minor = ".".join(metadata.version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_{SCALA_BINARY_VERSION}:{metadata.version('delta-spark')}"


def kafka_source_coordinate() -> str:
    """Structured Streaming's Kafka source, built for the installed Spark."""
    return f"org.apache.spark:spark-sql-kafka-0-10_{SCALA_BINARY_VERSION}:{metadata.version('pyspark')}"


# The embedded source database's JDBC driver (the extract's default; other databases bring their own).
SQLITE_JDBC = "org.xerial:sqlite-jdbc:3.54.1.0"


def default_packages() -> tuple[str, ...]:
    return (delta_coordinate(), kafka_source_coordinate(), SQLITE_JDBC)


def ivy_dir() -> Path:
    configured = os.environ.get(IVY_DIR_ENV_VAR)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "fitlake" / "ivy"


def _manifest_path(packages: tuple[str, ...]) -> Path:
    digest = hashlib.sha256(",".join(sorted(packages)).encode()).hexdigest()[:16]
    return ivy_dir() / f"fitlake-resolved-{digest}.json"


def cached_jars(packages: tuple[str, ...]) -> list[str] | None:
    """The jar files an earlier resolution of ``packages`` produced, or None if any is missing."""
    manifest = _manifest_path(packages)
    if not manifest.is_file():
        return None
    jars = json.loads(manifest.read_text())["jars"]
    return jars if jars and all(Path(jar).is_file() for jar in jars) else None


def save_resolution(packages: tuple[str, ...], spark_jars_conf: str) -> list[str]:
    """Record the jars Spark's resolver produced (its ``spark.jars`` value) for later offline sessions."""
    jars = [_local_path(entry) for entry in spark_jars_conf.split(",") if entry.strip()]
    manifest = _manifest_path(packages)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"packages": list(packages), "jars": jars}, indent=2))
    return jars


def _local_path(uri: str) -> str:
    uri = uri.strip()
    for prefix in ("file://", "file:"):
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return uri


def ensure_jars(packages: tuple[str, ...] | None = None, *, via_mvn: bool | None = None) -> list[str]:
    """Make sure ``packages`` are resolved and cached; return the jar files.

    Tries Spark's resolver (in a child process, so a failure leaves this process clean), with the mvn
    fallback of ``resolve_with_mvn_fallback``.
    """
    packages = packages or default_packages()
    jars = cached_jars(packages)
    if jars:
        return jars
    error = resolve_with_mvn_fallback(packages, lambda: _resolve_in_child(packages), "Spark's resolver", via_mvn)
    if error is not None:
        raise DependencyError(_resolution_failure(packages, error))
    return cached_jars(packages) or []


def resolve_with_mvn_fallback(
    packages: tuple[str, ...], resolve: Callable[[], str | None], resolver: str, via_mvn: bool | None = None
) -> str | None:
    """Run ``resolve`` (None on success, else its output); where it fails and mvn exists, pre-fetch and retry.

    With ``via_mvn`` (default: ``$FITLAKE_JARS_VIA_MVN``) the mvn pre-fetch comes first. Maven and Ivy settle
    version conflicts differently, so after the transitive pre-fetch each artifact the resolver still
    reports missing is fetched by name. Returns the last failure's output, or None.
    """
    if via_mvn is None:
        via_mvn = os.environ.get(VIA_MVN_ENV_VAR, "") not in ("", "0", "false")
    if via_mvn:
        prefetch_with_mvn(packages)
    error = resolve()
    if error is not None and _mvn() is not None:
        if not via_mvn:
            print(f"{resolver} could not fetch the packages; pre-fetching them with mvn.", file=sys.stderr)
            prefetch_with_mvn(packages)
            error = resolve()
        for _ in range(MVN_ROUNDS):
            missing = missing_artifacts(error or "")
            if not missing:
                break
            prefetch_with_mvn(missing, transitive=False)
            error = resolve()
    return error


def missing_artifacts(resolver_output: str) -> tuple[str, ...]:
    """The ``group:artifact:version`` coordinates Spark's (Ivy) resolver reported as not found."""
    found = _NOT_FOUND_ARTIFACT.findall(resolver_output) + _NOT_FOUND_MODULE.findall(resolver_output)
    return tuple(sorted({f"{group}:{artifact}:{version}" for group, artifact, version in found}))


def prefetch_with_mvn(packages: tuple[str, ...], *, transitive: bool = True) -> None:
    """Download ``packages`` (and by default their dependencies) into ``~/.m2/repository`` in one mvn run.

    The packages are the dependencies of a throwaway POM (``dependency:resolve``), not each the root of a
    ``dependency:get``: a root's direct ``provided`` dependencies are fetched with their whole trees, and
    delta-spark declares Spark, Hive and Hadoop so (hundreds of MB that pyspark ships already). One level
    down Maven leaves them out, as Spark's resolver does. Without ``transitive`` each package's own
    dependencies are excluded.
    """
    mvn = _mvn()
    if mvn is None:
        raise DependencyError(
            f"No Maven client found (${MVN_ENV_VAR} or mvn on PATH): install Maven, or let Spark's resolver "
            "reach Maven Central."
        )
    with tempfile.TemporaryDirectory(prefix="fitlake-mvn-") as folder:
        pom = Path(folder) / "pom.xml"
        pom.write_text(prefetch_pom(packages, transitive=transitive))
        result = subprocess.run([mvn, "-q", "-B", "-f", str(pom), "dependency:resolve"], capture_output=True, text=True)
    if result.returncode != 0 and transitive:
        # A transitive fetch can trip over an artifact Spark never needs; mvn still fetches everything else,
        # and the by-name rounds that follow fetch exactly what Spark's resolver still misses.
        print("mvn could not fetch all of the packages' dependencies; continuing.", file=sys.stderr)
    elif result.returncode != 0:
        raise DependencyError(
            f"mvn could not fetch {', '.join(packages)} (exit {result.returncode}):\n{result.stdout[-2000:]}"
            f"{result.stderr[-2000:]}\nCheck ~/.m2/settings.xml (mirror, proxy) and the network."
        )


def prefetch_pom(packages: tuple[str, ...], *, transitive: bool = True) -> str:
    """A POM whose dependencies are ``packages`` (``group:artifact:version``), each alone unless ``transitive``."""
    alone = (
        ""
        if transitive
        else "<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>"
    )
    dependencies = []
    for coordinate in packages:
        group, artifact, version = (escape(part) for part in coordinate.split(":"))
        dependencies.append(
            f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version>{alone}</dependency>"
        )
    return "\n".join(
        [
            '<project xmlns="http://maven.apache.org/POM/4.0.0">',
            "  <modelVersion>4.0.0</modelVersion>",
            "  <groupId>fitlake.local</groupId><artifactId>prefetch</artifactId><version>0</version>",
            "  <packaging>pom</packaging>",
            "  <dependencies>",
            *dependencies,
            "  </dependencies>",
            "</project>",
            "",
        ]
    )


def _mvn() -> str | None:
    return shutil.which(os.environ.get(MVN_ENV_VAR, "mvn"))


def _resolve_in_child(packages: tuple[str, ...]) -> str | None:
    """Run Spark's resolver in a child Python; return None on success, else its error output."""
    result = subprocess.run(
        [sys.executable, "-m", "fitlake.local.jars", *packages],
        capture_output=True,
        text=True,
    )
    return None if result.returncode == 0 else result.stdout + result.stderr


def _resolution_failure(packages: tuple[str, ...], output: str) -> str:
    return (
        f"Could not resolve Spark's JVM packages {', '.join(packages)}.\n{output[-4000:]}\n"
        "Spark's resolver reads ~/.m2/repository first, then Maven Central. Where only mvn reaches Maven "
        f"Central, run `fitlake jars --via-mvn` (or set {VIA_MVN_ENV_VAR}=1)."
    )


def _resolve_here(packages: tuple[str, ...]) -> None:
    """Start a throwaway session with ``spark.jars.packages`` and record what Spark resolved."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("fitlake-resolve-jars")
        .config("spark.jars.packages", ",".join(packages))
        .config("spark.jars.ivy", str(ivy_dir()))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        save_resolution(packages, spark.sparkContext.getConf().get("spark.jars", ""))
    finally:
        spark.stop()


if __name__ == "__main__":
    _resolve_here(tuple(sys.argv[1:]) or default_packages())


# ---- the local Kafka broker's jars (fitlake.local.kafka) ------------------------------------------------------
# Its own classpath, resolved with Ivy (the resolver whose jar pyspark ships) into <ivy dir>/kafka-broker with a
# manifest, so that later starts need no network: Spark's carries another kafka-clients and Scala patch level.

KAFKA_VERSION = "4.1.1"
# The log4j-core version kafka_2.13 depends on; the slf4j binding must match it, else the broker logs nothing.
LOG4J_VERSION = "2.24.3"
BROKER_MODULES = (
    f"org.apache.kafka:kafka_{SCALA_BINARY_VERSION}:{KAFKA_VERSION}",
    f"org.apache.logging.log4j:log4j-slf4j-impl:{LOG4J_VERSION}",
)


def broker_jars(*, via_mvn: bool | None = None) -> list[str]:
    """The broker's classpath: resolved once with Ivy (mvn pre-fetch as the fallback), then from the manifest."""
    cached = _cached_broker_jars()
    if cached:
        return cached
    error = resolve_with_mvn_fallback(BROKER_MODULES, _resolve_with_ivy, "Ivy", via_mvn)
    if error is not None:
        raise DependencyError(
            f"Could not resolve the Kafka broker's jars {', '.join(BROKER_MODULES)}.\n{error[-4000:]}\n"
            f"Ivy reads Maven Central, then ~/.m2/repository; where only mvn reaches Maven Central run "
            f"`fitlake jars --via-mvn` (or set {VIA_MVN_ENV_VAR}=1)."
        )
    return _cached_broker_jars() or []


def _broker_dir() -> Path:
    return ivy_dir() / "kafka-broker" / KAFKA_VERSION


def _cached_broker_jars() -> list[str] | None:
    manifest = _broker_dir() / "manifest.json"
    if not manifest.is_file():
        return None
    listed = json.loads(manifest.read_text())
    found = listed["jars"] if listed.get("modules") == list(BROKER_MODULES) else []
    return found if found and all(Path(jar).is_file() for jar in found) else None


def _ivy_jar() -> Path:
    import pyspark

    found = sorted((Path(pyspark.__file__).parent / "jars").glob("ivy-*.jar"))
    if not found:
        raise DependencyError("pyspark ships no Ivy jar (pyspark/jars/ivy-*.jar): reinstall pyspark.")
    return found[-1]


def _ivy_files(folder: Path) -> tuple[Path, Path]:
    """An Ivy settings file (Maven Central, then the local Maven repository) and a module listing BROKER_MODULES."""
    m2 = (Path.home() / ".m2" / "repository").as_uri()
    settings = folder / "ivysettings.xml"
    # Central first: a local repository can hold a POM without its jar (mvn fetches POMs of evicted versions),
    # and Ivy takes a module's artifacts from the repository that gave its descriptor.
    settings.write_text(
        '<ivysettings><settings defaultResolver="chain"/><resolvers><chain name="chain" returnFirst="true">'
        '<ibiblio name="central" m2compatible="true" root="https://repo1.maven.org/maven2/"/>'
        f'<ibiblio name="local-m2" m2compatible="true" root="{m2}"/>'
        "</chain></resolvers></ivysettings>\n"
    )
    dependencies = "".join(
        f'<dependency org="{group}" name="{artifact}" rev="{version}" conf="default->default"/>'
        for group, artifact, version in (module.split(":") for module in BROKER_MODULES)
    )
    module = folder / "ivy.xml"
    module.write_text(
        '<ivy-module version="2.0"><info organisation="fitlake" module="kafka-broker"/>'
        f"<dependencies>{dependencies}</dependencies></ivy-module>\n"
    )
    return settings, module


def _resolve_with_ivy() -> str | None:
    """Resolve BROKER_MODULES into the broker folder and write the manifest; None on success, else Ivy's output."""
    folder = _broker_dir()
    lib = folder / "lib"
    folder.mkdir(parents=True, exist_ok=True)
    settings, module = _ivy_files(folder)
    command = [
        java(),
        "-jar",
        str(_ivy_jar()),
        "-settings",
        str(settings),
        "-ivy",
        str(module),
        "-cache",
        str(ivy_dir() / "kafka-broker-cache"),
        "-confs",
        "default",
        "-retrieve",
        f"{lib}/[organisation]_[artifact]-[revision](-[classifier]).[ext]",
        "-sync",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    found = sorted(str(path) for path in lib.glob("*.jar")) if lib.is_dir() else []
    if result.returncode != 0 or not found:
        return result.stdout + result.stderr
    manifest = {"modules": list(BROKER_MODULES), "jars": found}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return None


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise DependencyError("No Java found (JAVA_HOME or java on PATH): install Java 17+.")
    return candidate
