"""The [kafka] config section, bronze_source, and the Kafka option builders: validated, and no secret leaks."""

from __future__ import annotations

import pytest
from configfiles import edit

from fitlake.config import load_config
from fitlake.errors import ConfigError, SecretNotFoundError
from fitlake.kafka import settings as kafka_settings
from fitlake.kafka.settings import Credentials, KafkaSettings
from fitlake.local.secrets import EnvSecrets, Redactor

PASSWORD = 'Endpoint=sb://x/;SharedAccessKey=s3cr"et\\key'


class DictSecrets:
    """dbutils.secrets' ``get`` over a dict, the way the local runtime serves environment variables."""

    def __init__(self, values: dict[tuple[str, str], str]):
        self.values = values
        self.asked: list[tuple[str, str]] = []

    def get(self, scope: str, key: str) -> str:
        self.asked.append((scope, key))
        return self.values[(scope, key)]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('sasl_mechanism = "PLAIN"', 'sasl_mechanism = "PLAIN"\npassword = "x"', "unknown key kafka.password"),
        ('secret_scope = "fitlake-dev"\nusername_key', "username_key", r"secret_scope is missing \(a string"),
        ("max_offsets_per_trigger = 0", 'max_offsets_per_trigger = "10"', "max_offsets_per_trigger must be a whole"),
        ('security_protocol = "SASL_SSL"', 'security_protocol = "SASL"', "kafka.security_protocol must be one of"),
        ('sasl_mechanism = "PLAIN"', 'sasl_mechanism = "GSSAPI"', "kafka.sasl_mechanism must be one of"),
        ('secret_scope = "fitlake-dev"\nusername_key', 'secret_scope = ""\nusername_key', "secret_scope is empty"),
        ("max_offsets_per_trigger = 0", "max_offsets_per_trigger = -1", "max_offsets_per_trigger must be from 0 to"),
        (
            "max_offsets_per_trigger = 0",
            "max_offsets_per_trigger = 9223372036854775807",
            "kafka.max_offsets_per_trigger must be from 0 to 1,000,000,000",
        ),
        ('bronze_source = "files"', 'bronze_source = "eventhubs"', "pipeline.bronze_source: 'eventhubs' must be"),
    ],
)
def test_a_bad_kafka_section_names_file_and_key(spark, config_dir, old, new, message):
    edit(config_dir, old, new)
    with pytest.raises(ConfigError, match=message) as error:
        load_config(spark, "dev", config_dir=config_dir)
    assert str(config_dir / "dev.toml") in str(error.value)


def test_a_missing_kafka_section(spark, config_dir):
    path = config_dir / "dev.toml"
    text = path.read_text()
    start = text.index("\n[kafka]\n")
    path.write_text(text[:start] + text[text.index("\n\n", start) :])
    with pytest.raises(ConfigError, match=r"section \[kafka\] is missing"):
        load_config(spark, "dev", config_dir=config_dir)


def test_on_databricks_the_files_cluster_and_security_are_used(spark, monkeypatch):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    config = load_config(spark, "prod", bronze_source="kafka")
    assert config.bronze_source == "kafka" and config.reads_topics
    assert config.kafka == KafkaSettings(
        "fitlake-prod.servicebus.windows.net:9093", "SASL_SSL", "PLAIN", "fitlake-prod", "kafka-sasl-username",
        "kafka-sasl-password", 0,
    )  # fmt: skip


def test_on_databricks_a_widget_cannot_send_the_credentials_to_another_host(spark, monkeypatch):
    """Trust issue, HIGH: a run parameter pointing the SASL_SSL connection elsewhere is refused, before any
    secret is read; repeating the configured host is harmless and allowed."""
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    secrets = DictSecrets({})
    with pytest.raises(ConfigError, match="kafka_bootstrap_servers widget may not change"):
        load_config(spark, "prod", kafka_bootstrap_servers="attacker.example:9093", secrets=secrets)
    assert secrets.asked == []
    configured = "fitlake-prod.servicebus.windows.net:9093"
    assert load_config(spark, "prod", kafka_bootstrap_servers=configured).kafka.bootstrap_servers == configured


def test_locally_the_local_broker_replaces_the_cluster(spark, monkeypatch):
    monkeypatch.delenv(kafka_settings.BOOTSTRAP_ENV_VAR, raising=False)
    assert load_config(spark, "dev", kafka_bootstrap_servers="127.0.0.1:1234").kafka == KafkaSettings("127.0.0.1:1234")
    monkeypatch.setenv(kafka_settings.BOOTSTRAP_ENV_VAR, "127.0.0.1:5678")
    assert load_config(spark, "dev").kafka.bootstrap_servers == "127.0.0.1:5678"


def test_no_local_broker_is_a_clear_error_only_when_kafka_is_used(spark, monkeypatch):
    monkeypatch.delenv(kafka_settings.BOOTSTRAP_ENV_VAR, raising=False)
    config = load_config(spark, "dev")  # files mode: no broker needed
    assert config.kafka.bootstrap_servers == "" and config.bronze_source == "files" and not config.reads_topics
    with pytest.raises(ConfigError, match="fitlake kafka start"):
        kafka_settings.credentials(config.kafka, None)


def test_credentials_come_from_the_secret_scope_only_when_sasl_is_used():
    sasl = KafkaSettings("h:9093", "SASL_SSL", "PLAIN", "scope", "user", "pass")
    secrets = DictSecrets({("scope", "user"): "$ConnectionString", ("scope", "pass"): PASSWORD})
    login = kafka_settings.credentials(sasl, secrets)
    assert login == Credentials("$ConnectionString", PASSWORD)
    assert secrets.asked == [("scope", "user"), ("scope", "pass")]
    assert kafka_settings.credentials(KafkaSettings("h:9092"), None) is None
    with pytest.raises(ConfigError, match="needs credentials"):
        kafka_settings.credentials(sasl, None)


def test_a_missing_local_secret_names_the_environment_variable():
    sasl = KafkaSettings("h:9093", "SASL_SSL", "PLAIN", "kafka-prod", "user", "sasl.password")
    secrets = EnvSecrets(Redactor(), environ={"FITLAKE_SECRET__KAFKA_PROD__USER": "u"})
    with pytest.raises(SecretNotFoundError, match="FITLAKE_SECRET__KAFKA_PROD__SASL_PASSWORD"):
        kafka_settings.credentials(sasl, secrets)


def test_spark_source_options_carry_security_and_an_escaped_jaas_line():
    settings = KafkaSettings("h:9093", "SASL_SSL", "PLAIN", "scope", "user", "pass", max_offsets_per_trigger=500)
    options = kafka_settings.spark_source_options(settings, Credentials("$ConnectionString", PASSWORD))
    assert options["kafka.bootstrap.servers"] == "h:9093"
    assert options["kafka.security.protocol"] == "SASL_SSL" and options["kafka.sasl.mechanism"] == "PLAIN"
    assert options["subscribe"] == "user_info,bpm,workout"
    assert (options["startingOffsets"], options["failOnDataLoss"], options["maxOffsetsPerTrigger"]) == (
        "earliest",
        "true",
        "500",
    )
    assert options["kafka.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="$ConnectionString" password="Endpoint=sb://x/;SharedAccessKey=s3cr\\"et\\\\key";'
    )
    shaded = kafka_settings.spark_source_options(settings, Credentials("u", "p"), shaded=True)
    assert shaded["kafka.sasl.jaas.config"].startswith("kafkashaded.org.apache.kafka.common.security.plain.")


def test_plaintext_options_have_no_sasl_and_no_limit():
    options = kafka_settings.spark_source_options(KafkaSettings("127.0.0.1:9092"), None)
    assert not [key for key in options if "sasl" in key] and "maxOffsetsPerTrigger" not in options
    assert kafka_settings.python_client_config(KafkaSettings("a:1,b:2"), None) == {
        "bootstrap_servers": ["a:1", "b:2"],
        "security_protocol": "PLAINTEXT",
    }


def test_the_password_stays_out_of_reprs(spark, monkeypatch):
    login = Credentials("$ConnectionString", PASSWORD)
    assert PASSWORD not in repr(login) and PASSWORD not in str(login)
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    scope = "fitlake-prod"
    secrets = DictSecrets({(scope, "kafka-sasl-username"): "u", (scope, "kafka-sasl-password"): PASSWORD})
    config = load_config(spark, "prod", secrets=secrets)
    assert PASSWORD not in repr(config) and secrets.asked == []  # read only when a Kafka client is built
