"""``dbutils.secrets`` from environment variables, with redaction of every value handed out.

Naming rule: the secret ``key`` in ``scope`` is read from ``FITLAKE_SECRET__<SCOPE>__<KEY>``, where scope
and key are upper-cased and every character other than a letter or digit becomes ``_``. For example
scope ``kafka-prod``, key ``sasl.password`` -> ``FITLAKE_SECRET__KAFKA_PROD__SASL_PASSWORD``.

As on Databricks, a value read this way never appears in a notebook's output: printed text, displayed
results and error messages show ``[REDACTED]`` instead.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from fitlake.errors import SecretNotFoundError

ENV_PREFIX = "FITLAKE_SECRET__"
REDACTED = "[REDACTED]"


def secret_env_var(scope: str, key: str) -> str:
    def norm(part: str) -> str:
        return re.sub(r"[^A-Za-z0-9]", "_", part).upper()

    return f"{ENV_PREFIX}{norm(scope)}__{norm(key)}"


class Redactor:
    """Replaces every secret value handed out so far with ``[REDACTED]``."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if value:
            with self._lock:
                self._values.add(value)

    def __call__(self, text: str) -> str:
        # Longest first, so a secret that contains another is replaced whole.
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return text


@dataclass(frozen=True)
class SecretScope:
    name: str


@dataclass(frozen=True)
class SecretMetadata:
    key: str


class EnvSecrets:
    def __init__(self, redactor: Redactor, environ: Mapping[str, str] | None = None):
        self._redactor = redactor
        self._environ = environ if environ is not None else os.environ

    def get(self, scope: str, key: str) -> str:
        name = secret_env_var(scope, key)
        value = self._environ.get(name)
        if value is None:
            raise SecretNotFoundError(
                f"Secret does not exist with scope: {scope} and key: {key}. Locally, set the environment "
                f"variable {name}."
            )
        self._redactor.add(value)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802 (Databricks API)
        return self.get(scope, key).encode("utf-8")

    def list(self, scope: str) -> list[SecretMetadata]:
        prefix = secret_env_var(scope, "")
        return [
            SecretMetadata(key=name[len(prefix) :].lower()) for name in sorted(self._environ) if name.startswith(prefix)
        ]

    def listScopes(self) -> list[SecretScope]:  # noqa: N802 (Databricks API)
        scopes = {
            name[len(ENV_PREFIX) :].split("__", 1)[0].lower() for name in self._environ if name.startswith(ENV_PREFIX)
        }
        return [SecretScope(name=scope) for scope in sorted(scopes)]
