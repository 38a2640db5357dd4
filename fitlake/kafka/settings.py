"""The ``[kafka]`` config section: where bronze reads the topics from and how it authenticates.

Secrets never live in the config: the section names a secret scope and the keys of the username and
password in it, and the credentials are read (``dbutils.secrets``) only when a Kafka client is built. The
options built here hold the password inside the JAAS config, so they are kept out of every ``repr``.

Locally (no Databricks) the cluster of the file is not reachable: the local broker started by
``fitlake kafka start`` takes its place, found through the ``kafka_bootstrap_servers`` widget, else the
``FITLAKE_KAFKA_BOOTSTRAP_SERVERS`` environment variable, else the broker's state file in the environment's
data root (``<data root>/<env>/kafka/broker.json``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pyspark.sql import SparkSession

from fitlake import platform
from fitlake.contract import TOPICS
from fitlake.errors import ConfigError

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
BOOTSTRAP_ENV_VAR = "FITLAKE_KAFKA_BOOTSTRAP_SERVERS"
BROKER_STATE_FILE = "broker.json"

SECTION: dict[str, type] = {
    "bootstrap_servers": str,
    "security_protocol": str,
    "sasl_mechanism": str,
    "secret_scope": str,
    "username_key": str,
    "password_key": str,
    "max_offsets_per_trigger": int,
}
# Inclusive bounds of the section's whole numbers (fitlake.toml_tables.check_table).
BOUNDS = {"max_offsets_per_trigger": (0, 1_000_000_000)}


class Secrets(Protocol):
    """What fitlake needs of ``dbutils.secrets`` (on Databricks and in the local runtime)."""

    def get(self, scope: str, key: str) -> str: ...


@dataclass(frozen=True)
class KafkaSettings:
    """The validated ``[kafka]`` section. ``max_offsets_per_trigger`` 0 means no limit per micro-batch."""

    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    secret_scope: str = ""
    username_key: str = ""
    password_key: str = ""
    max_offsets_per_trigger: int = 0

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")


@dataclass(frozen=True)
class Credentials:
    """A SASL username and password, read from secrets; the password stays out of ``repr`` and logs."""

    username: str
    password: str = field(repr=False)


def parse_section(values: dict[str, Any], path: Path) -> KafkaSettings:
    """``[kafka]`` of ``path`` (keys and types already checked) with its values checked against each other."""
    settings = KafkaSettings(**values)
    if settings.security_protocol not in SECURITY_PROTOCOLS:
        raise ConfigError(
            f"{path}: kafka.security_protocol must be one of {', '.join(SECURITY_PROTOCOLS)}, "
            f"got {settings.security_protocol!r}."
        )
    if settings.uses_sasl:
        if settings.sasl_mechanism not in SASL_MECHANISMS:
            raise ConfigError(
                f"{path}: kafka.sasl_mechanism must be one of {', '.join(SASL_MECHANISMS)} with "
                f"{settings.security_protocol}, got {settings.sasl_mechanism!r}."
            )
        for key in ("secret_scope", "username_key", "password_key"):
            if not getattr(settings, key).strip():
                raise ConfigError(f"{path}: kafka.{key} is empty; {settings.security_protocol} needs credentials.")
    return settings


def local_settings(spark: SparkSession, settings: KafkaSettings, bootstrap_override: str = "") -> KafkaSettings:
    """Locally: the local broker's plaintext listener instead of the file's cluster (empty if none is known)."""
    bootstrap = bootstrap_override or os.environ.get(BOOTSTRAP_ENV_VAR, "") or _local_broker(spark)
    return KafkaSettings(bootstrap_servers=bootstrap, max_offsets_per_trigger=settings.max_offsets_per_trigger)


def _local_broker(spark: SparkSession) -> str:
    folder = spark.conf.get(platform.LOCAL_KAFKA_CONF, None)
    if folder is None:
        return ""
    state = Path(folder) / BROKER_STATE_FILE
    if not state.is_file():
        return ""
    return json.loads(state.read_text())["bootstrap_servers"]


def credentials(settings: KafkaSettings, secrets: Secrets | None) -> Credentials | None:
    """The SASL credentials from the secret scope (None without SASL); needs the bootstrap servers to be known."""
    if not settings.bootstrap_servers:
        raise ConfigError(
            "No Kafka bootstrap servers: locally start the broker (`fitlake kafka start`) or pass the "
            f"kafka_bootstrap_servers widget (or set {BOOTSTRAP_ENV_VAR}); on Databricks set kafka.bootstrap_servers."
        )
    if not settings.uses_sasl:
        return None
    if secrets is None:
        raise ConfigError(
            f"kafka.security_protocol {settings.security_protocol} needs credentials: pass dbutils.secrets to "
            "load_config (notebooks/01_config does)."
        )
    return Credentials(
        secrets.get(settings.secret_scope, settings.username_key),
        secrets.get(settings.secret_scope, settings.password_key),
    )


def jaas_config(mechanism: str, login: Credentials, shaded: bool = False) -> str:
    """The JAAS line of a username/password login; quotes and backslashes escaped as JAAS requires.

    ``shaded``: Databricks Runtime relocates the Kafka client its Kafka source uses under ``kafkashaded.``,
    so the login module must be named that way there (open-source Spark keeps the plain name).
    """

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    module = ("kafkashaded." if shaded else "") + _LOGIN_MODULES[mechanism]
    return f"{module} required username={quoted(login.username)} password={quoted(login.password)};"


def spark_source_options(
    settings: KafkaSettings, login: Credentials | None, *, shaded: bool = False, topics: tuple[str, ...] = TOPICS
) -> dict[str, str]:
    """Options of Structured Streaming's Kafka source. They hold the password: never print or log them.

    ``startingOffsets`` earliest: a new query reads what the topics still hold; a restarted one resumes
    from its checkpoint (the option only applies to a query's first start).

    ``failOnDataLoss`` true: the pipeline's rule is that nothing is lost silently. If offsets the checkpoint
    expects are gone (retention passed while the pipeline was down, a topic deleted and recreated), the
    query fails and says so instead of skipping records no quarantine row would ever mention; the operator
    then decides (re-land the gap from another copy, or accept it with a new checkpoint).
    """
    options = {
        "kafka.bootstrap.servers": settings.bootstrap_servers,
        "kafka.security.protocol": settings.security_protocol,
        "subscribe": ",".join(topics),
        "startingOffsets": "earliest",
        "failOnDataLoss": "true",
    }
    if settings.uses_sasl and login is not None:
        options["kafka.sasl.mechanism"] = settings.sasl_mechanism
        options["kafka.sasl.jaas.config"] = jaas_config(settings.sasl_mechanism, login, shaded)
    if settings.max_offsets_per_trigger:
        options["maxOffsetsPerTrigger"] = str(settings.max_offsets_per_trigger)
    return options


def python_client_config(settings: KafkaSettings, login: Credentials | None) -> dict[str, Any]:
    """Keyword arguments of kafka-python's clients (the producer) for the same cluster and security."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers.split(","),
        "security_protocol": settings.security_protocol,
    }
    if settings.uses_sasl and login is not None:
        config.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=login.username,
            sasl_plain_password=login.password,
        )
    return config
