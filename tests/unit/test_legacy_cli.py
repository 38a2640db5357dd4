"""Where the deploy sends the workspace token: DATABRICKS_HOST must name one https workspace plainly."""

from __future__ import annotations

import pytest

from fitlake.deployment.legacy_cli import credentials_from_environment
from fitlake.errors import ConfigError

TOKEN = "dapi-not-a-real-token"


def host_from(monkeypatch: pytest.MonkeyPatch, value: str) -> str:
    monkeypatch.setenv("DATABRICKS_HOST", value)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    return credentials_from_environment().host


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://adb-1234.5.azuredatabricks.net", "https://adb-1234.5.azuredatabricks.net"),
        ("https://adb-1234.5.azuredatabricks.net/", "https://adb-1234.5.azuredatabricks.net"),
        ("http://localhost", "http://localhost"),  # the tests' workspace stand-in: the token stays on this machine
    ],
)
def test_a_plain_workspace_url_is_accepted(monkeypatch, value, expected):
    assert host_from(monkeypatch, value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://adb-1234.5.azuredatabricks.net", "must use https"),
        ("ftp://adb-1234.5.azuredatabricks.net", "must use https"),
        ("https://adb-1234.5.azuredatabricks.net@evil.example", "names a user"),
        ("https://user:pw@adb-1234.5.azuredatabricks.net", "names a user"),
        ("https://evil.example#@adb-1234.5.azuredatabricks.net", "no port, path, query or fragment"),
        ("https://evil.example?@adb-1234.5.azuredatabricks.net", "no port, path, query or fragment"),
        ("https://adb-1234.5.azuredatabricks.net#", "no port, path, query or fragment"),
        ("https://adb-1234.5.azuredatabricks.net:8443", "no port, path, query or fragment"),
        ("https://adb-1234.5.azuredatabricks.net/api", "no port, path, query or fragment"),
        ("https://adb-1234.5.azuredatabricks.net\\@evil.example", "names a user"),
        ("https://", "names no valid host"),
        ("adb-1234.5.azuredatabricks.net", "names no valid host"),
        ("https://adb-1234.5.azuredatabricks.net:port", "does not parse"),
    ],
)
def test_a_host_that_could_send_the_token_elsewhere_or_in_clear_is_refused(monkeypatch, value, message):
    with pytest.raises(ConfigError, match=message) as error:
        host_from(monkeypatch, value)
    assert TOKEN not in str(error.value)
