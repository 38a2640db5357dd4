import base64
import json

import pytest

from fitlake.errors import SecretNotFoundError
from fitlake.kafka.settings import Credentials, jaas_config
from fitlake.local.secrets import EnvSecrets, Redactor, secret_env_var

PASSWORD = "s3cr3t-pa55"


def secrets_with(environ: dict[str, str]) -> tuple[EnvSecrets, Redactor]:
    redactor = Redactor()
    return EnvSecrets(redactor, environ=environ), redactor


# Naming rule


def test_env_var_name_upper_cases_and_replaces_non_alphanumerics():
    assert secret_env_var("kafka-prod", "sasl.password") == "FITLAKE_SECRET__KAFKA_PROD__SASL_PASSWORD"


def test_env_var_name_keeps_digits():
    assert secret_env_var("db2", "key 1") == "FITLAKE_SECRET__DB2__KEY_1"


# get


def test_get_returns_value_of_env_var():
    secrets, _ = secrets_with({"FITLAKE_SECRET__KAFKA_PROD__SASL_PASSWORD": PASSWORD})
    assert secrets.get("kafka-prod", "sasl.password") == PASSWORD


def test_get_of_missing_secret_names_the_env_var():
    secrets, _ = secrets_with({})
    with pytest.raises(SecretNotFoundError, match="FITLAKE_SECRET__KAFKA_PROD__SASL_PASSWORD"):
        secrets.get("kafka-prod", "sasl.password")


def test_missing_secret_message_contains_no_secret_value():
    secrets, _ = secrets_with({"FITLAKE_SECRET__KAFKA__USER": PASSWORD})
    secrets.get("kafka", "user")
    with pytest.raises(SecretNotFoundError) as error:
        secrets.get("kafka", "password")
    assert PASSWORD not in str(error.value)


def test_get_bytes_returns_utf8_value():
    secrets, _ = secrets_with({"FITLAKE_SECRET__S__K": "päss"})
    assert secrets.getBytes("s", "k") == "päss".encode()


# Redaction


def test_fetched_value_is_redacted():
    secrets, redactor = secrets_with({"FITLAKE_SECRET__S__K": PASSWORD})
    secrets.get("s", "k")
    assert redactor(f"password={PASSWORD}!") == "password=[REDACTED]!"


def test_value_fetched_with_get_bytes_is_redacted():
    secrets, redactor = secrets_with({"FITLAKE_SECRET__S__K": PASSWORD})
    secrets.getBytes("s", "k")
    assert redactor(PASSWORD) == "[REDACTED]"


def test_value_never_fetched_is_not_redacted():
    secrets, redactor = secrets_with({"FITLAKE_SECRET__S__K": PASSWORD, "FITLAKE_SECRET__S__OTHER": "other-value"})
    secrets.get("s", "k")
    assert redactor("other-value") == "other-value"


def test_secret_containing_another_is_redacted_whole():
    secrets, redactor = secrets_with({"FITLAKE_SECRET__S__SHORT": "abc", "FITLAKE_SECRET__S__LONG": "xxabcxx"})
    secrets.get("s", "short")
    secrets.get("s", "long")
    assert redactor("token xxabcxx and abc") == "token [REDACTED] and [REDACTED]"


def test_empty_secret_value_redacts_nothing():
    secrets, redactor = secrets_with({"FITLAKE_SECRET__S__K": ""})
    assert secrets.get("s", "k") == ""
    assert redactor("some text") == "some text"


# list and listScopes


def test_list_returns_keys_of_the_scope_only():
    secrets, _ = secrets_with(
        {
            "FITLAKE_SECRET__KAFKA__USER": "u",
            "FITLAKE_SECRET__KAFKA__PASSWORD": "p",
            "FITLAKE_SECRET__DB__TOKEN": "t",
            "PATH": "/bin",
        }
    )
    assert [m.key for m in secrets.list("kafka")] == ["password", "user"]


def test_list_of_unknown_scope_is_empty():
    secrets, _ = secrets_with({"FITLAKE_SECRET__KAFKA__USER": "u"})
    assert secrets.list("db") == []


def test_list_scopes_returns_each_scope_once():
    secrets, _ = secrets_with(
        {
            "FITLAKE_SECRET__KAFKA__USER": "u",
            "FITLAKE_SECRET__KAFKA__PASSWORD": "p",
            "FITLAKE_SECRET__DB__TOKEN": "t",
            "HOME": "/root",
        }
    )
    assert [s.name for s in secrets.listScopes()] == ["db", "kafka"]


def test_list_does_not_fetch_values_for_redaction():
    secrets, redactor = secrets_with({"FITLAKE_SECRET__S__K": PASSWORD})
    secrets.list("s")
    secrets.listScopes()
    assert redactor(PASSWORD) == PASSWORD


# Escaped forms: what printing a string holding the secret shows

AWKWARD = "Zq\\Kv\"Jm'Wx"  # a backslash and both quote kinds between fragments found nowhere else


def leaks(text: str) -> bool:
    return any(fragment in text for fragment in ("Zq", "Kv", "Jm", "Wx"))


@pytest.fixture
def awkward() -> Redactor:
    secrets, redactor = secrets_with({"FITLAKE_SECRET__S__K": AWKWARD})
    secrets.get("s", "k")
    return redactor


@pytest.mark.parametrize(
    "shown",
    [
        AWKWARD,
        repr(AWKWARD),
        repr({"password": AWKWARD}),
        repr(f"x'y\"{AWKWARD}"),
        repr(AWKWARD.encode()),
        repr([repr(AWKWARD)]),
        json.dumps({"password": AWKWARD}),
        json.dumps({"password": AWKWARD}, ensure_ascii=False),
        json.dumps([json.dumps(AWKWARD)]),
        str(KeyError(AWKWARD)),
    ],
)
def test_repr_and_json_forms_of_a_secret_are_redacted(awkward, shown):
    assert leaks(shown)
    assert not leaks(awkward(shown))


def test_a_password_inside_the_kafka_jaas_line_is_redacted_also_in_the_options_repr(awkward):
    jaas = jaas_config("PLAIN", Credentials("user", AWKWARD))
    options = {"kafka.sasl.jaas.config": jaas}
    for shown in (jaas, repr(options), json.dumps(options)):
        assert leaks(shown)
        assert not leaks(awkward(shown)) and "[REDACTED]" in awkward(shown)


def test_a_transformed_secret_is_not_recognised(awkward):
    # As on Databricks: an encoded or sliced value is other text (documented in fitlake.local.secrets).
    encoded = base64.b64encode(AWKWARD.encode()).decode()
    assert awkward(encoded) == encoded
