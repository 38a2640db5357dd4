"""Configuration as validated data: ``config/<environment>.toml`` -> ``PipelineConfig``.

Widget names, job parameter names and config keys are the same words (``environment``, ``run_mode``,
``processing_time``, ``landing``, ``age_as_of`` ...). On Databricks the catalog and storage paths come from
the file; locally the catalog is the Spark session catalog and storage lives under the environment's data
root, so the same notebook runs in both places.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from fitlake import platform
from fitlake.errors import ConfigError
from fitlake.identifiers import identifier
from fitlake.kafka.settings import BOUNDS as KAFKA_BOUNDS
from fitlake.kafka.settings import SECTION as KAFKA_SECTION
from fitlake.kafka.settings import KafkaSettings, Secrets, local_settings, parse_section
from fitlake.parameters import BRONZE_SOURCES, ENVIRONMENT, ENVIRONMENTS, FROM_FILES, FROM_TOPICS
from fitlake.toml_tables import check_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# The widget, job parameter and config key naming the environment (load_config's first argument).
ENVIRONMENT_WIDGET = ENVIRONMENT.name
LOCAL_CATALOG = "spark_catalog"
CONFIG_DIR_ENV_VAR = "FITLAKE_CONFIG_DIR"
PACKAGED_CONFIG = "_config"  # where a built wheel carries a copy of config/ (fitlake.deployment.wheel)


def _config_dir() -> Path:
    """Where the environment files are: ``$FITLAKE_CONFIG_DIR``, else the repo's ``config/`` (a checkout, an
    editable install or a Databricks Git folder), else the copy packaged in the wheel (a job cluster)."""
    override = os.environ.get(CONFIG_DIR_ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    package = Path(__file__).resolve().parent
    # The repo is recognised by its pyproject.toml: site-packages may hold an unrelated top-level config/.
    if (package.parent / "pyproject.toml").is_file() and (package.parent / "config").is_dir():
        return package.parent / "config"
    return package / PACKAGED_CONFIG


CONFIG_DIR = _config_dir()

_SCHEMA: dict[str, dict[str, type]] = {
    "catalog": {"name": str},
    "storage": {"landing": str, "checkpoints": str},
    "pipeline": {"processing_time": str, "max_workout_hours": int, "age_as_of": str, "bronze_source": str},
    "kafka": KAFKA_SECTION,
}
# Sections other modules read and validate themselves (Unity Catalog objects, grants, deployment).
_VALIDATED_ELSEWHERE = {
    "governance": "fitlake.governance",
    "deployment": "fitlake.governance",
    "extract": "fitlake.extract.config",
}
# A workout this long or longer is not a completed one: at most a week.
MAX_WORKOUT_HOURS_BOUNDS = (1, 168)
_BOUNDS: dict[str, dict[str, tuple[int, int]]] = {
    "pipeline": {"max_workout_hours": MAX_WORKOUT_HOURS_BOUNDS},
    "kafka": KAFKA_BOUNDS,
}
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600}
_INTERVAL = re.compile(r"\d+(\.\d+)?\s+(" + "|".join(_UNIT_SECONDS) + r")s?")


@dataclass(frozen=True)
class PipelineConfig:
    environment: str
    catalog: str
    landing: str
    checkpoints: str
    processing_time: str
    max_workout_hours: int
    age_as_of: date
    # Where bronze reads Kafka records from: the landing zone's files or the topics (parameters.BRONZE_SOURCES).
    bronze_source: str = FROM_FILES
    kafka: KafkaSettings = KafkaSettings(bootstrap_servers="")
    # dbutils.secrets, for the Kafka credentials; read only when a Kafka client is built.
    secrets: Secrets | None = field(default=None, repr=False, compare=False)

    def table(self, schema: str, name: str) -> str:
        """The fully qualified name ``catalog.schema.table`` (every part validated)."""
        return ".".join(identifier(part, "name") for part in (self.catalog, schema, name))

    def landing_path(self, source: str) -> str:
        return f"{self.landing.rstrip('/')}/{source}"

    def checkpoint(self, name: str) -> str:
        return f"{self.checkpoints.rstrip('/')}/{name}"

    @property
    def reads_topics(self) -> bool:
        """Whether bronze reads the Kafka records from the topics (else from the landing zone's files)."""
        return self.bronze_source == FROM_TOPICS

    def describe(self) -> str:
        """One line for people: what a run of this configuration reads, writes and decides by."""
        if self.reads_topics:
            kafka = self.kafka
            access = f", credentials from secret scope {kafka.secret_scope}" if kafka.uses_sasl else ""
            records = f"Kafka records from the topics at {kafka.bootstrap_servers} ({kafka.security_protocol}{access})"
        else:
            records = "Kafka records from the landing files"
        return (
            f"config {self.environment}: catalog {self.catalog}; landing {self.landing}; checkpoints "
            f"{self.checkpoints}; {records}; continuous trigger {self.processing_time}; workouts under "
            f"{self.max_workout_hours} h; ages as of {self.age_as_of.isoformat()}"
        )

    @property
    def processing_seconds(self) -> float:
        """``processing_time`` in seconds (validated on load to look like ``30 seconds`` or ``1 minute``)."""
        number, unit = self.processing_time.split()
        return float(number) * _UNIT_SECONDS[unit.removesuffix("s")]


def load_config(
    spark: SparkSession,
    environment: str,
    *,
    landing: str = "",
    processing_time: str = "",
    age_as_of: str = "",
    bronze_source: str = "",
    kafka_bootstrap_servers: str = "",
    secrets: Secrets | None = None,
    config_dir: Path = CONFIG_DIR,
) -> PipelineConfig:
    """Load and validate the environment's config; non-empty arguments (widget values) override it."""
    path, raw = read_environment_file(environment, config_dir)
    _validate(raw, path)
    pipeline = raw["pipeline"]
    config = PipelineConfig(
        environment=environment,
        catalog=identifier(raw["catalog"]["name"], f"catalog name in {path}"),
        landing=raw["storage"]["landing"],
        checkpoints=raw["storage"]["checkpoints"],
        processing_time=_interval(pipeline["processing_time"], path),
        max_workout_hours=pipeline["max_workout_hours"],
        age_as_of=_as_of(pipeline["age_as_of"], f"{path}: pipeline.age_as_of"),
        bronze_source=_bronze_source(pipeline["bronze_source"], f"{path}: pipeline.bronze_source"),
        kafka=parse_section(raw["kafka"], path),
        secrets=secrets,
    )
    if not platform.on_databricks():
        config = replace(
            config,
            catalog=LOCAL_CATALOG,
            landing=platform.storage_path(spark, platform.LANDING_FOLDER),
            checkpoints=platform.storage_path(spark, platform.CHECKPOINTS_FOLDER),
            kafka=local_settings(spark, config.kafka, kafka_bootstrap_servers),
        )
    else:
        pinned_on_databricks("kafka_bootstrap_servers", config.kafka.bootstrap_servers, kafka_bootstrap_servers, path)
    if bronze_source:
        config = replace(config, bronze_source=_bronze_source(bronze_source, "the bronze_source widget"))
    overrides: dict[str, Any] = {}
    if landing:
        overrides["landing"] = landing
    if processing_time:
        overrides["processing_time"] = _interval(processing_time, "the processing_time widget")
    if age_as_of:
        overrides["age_as_of"] = _as_of(age_as_of, "the age_as_of widget")
    return replace(config, **overrides)


def pinned_on_databricks(widget: str, configured: str, override: str, path: Path) -> None:
    """Refuse, on Databricks, a widget value that would move a credentialed connection to another host.

    Whoever may run a job with parameters need not be allowed to read its secret scope: were the host a
    parameter, the job would send the scope's credentials to wherever the parameter points. So on Databricks
    the host is what the reviewed config file says, and an override may only repeat it. Locally the overrides
    carry no credentials (the local broker and database need none), so they stay free.
    """
    if override and override.strip() != configured:
        raise ConfigError(
            f"On Databricks the {widget} widget may not change the configured value in {path} "
            f"({configured!r}): the connection carries the secret scope's credentials. Leave the widget "
            "empty, or change the config file through review."
        )


def read_environment_file(environment: str, config_dir: Path = CONFIG_DIR) -> tuple[Path, dict[str, Any]]:
    """The environment's TOML file, parsed but not validated (each reader validates its own sections)."""
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"environment must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}.")
    path = config_dir / f"{environment}.toml"
    if not path.is_file():
        raise ConfigError(f"Config file {path} is missing: add one per environment ({', '.join(ENVIRONMENTS)}).")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path} is not UTF-8 text (byte {error.start} is not); save it as UTF-8.") from None
    except OSError as error:
        raise ConfigError(f"{path} cannot be read: {error.strerror}.") from None
    try:
        return path, tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{path} nests arrays or inline tables too deeply to be read; flatten them.") from None
    except ValueError as error:  # TOMLDecodeError, and an integer too long to convert
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def _validate(raw: dict[str, Any], path: Path) -> None:
    for section in raw:
        if section not in _SCHEMA and section not in _VALIDATED_ELSEWHERE:
            expected = ", ".join([*_SCHEMA, *_VALIDATED_ELSEWHERE])
            raise ConfigError(f"{path}: unknown section [{section}]; expected {expected}.")
    for section, keys in _SCHEMA.items():
        check_table(path, raw.get(section), section, keys, bounds=_BOUNDS.get(section))


def _bronze_source(value: str, where: str) -> str:
    if value not in BRONZE_SOURCES:
        raise ConfigError(f"{where}: {value!r} must be one of {', '.join(BRONZE_SOURCES)}.")
    return value


def _interval(value: str, where: Any) -> str:
    if not _INTERVAL.fullmatch(value.strip()):
        raise ConfigError(f"{where}: processing_time {value!r} must look like '30 seconds' or '1 minute'.")
    return value.strip()


def _as_of(value: str, where: str) -> date:
    if not value:
        return datetime.now(timezone.utc).date()
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ConfigError(f"{where}: {value!r} is not a date in yyyy-MM-dd form.") from error
