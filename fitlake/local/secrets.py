"""``dbutils.secrets`` from environment variables, with redaction of every value handed out.

Naming rule: the secret ``key`` in ``scope`` is read from ``FITLAKE_SECRET__<SCOPE>__<KEY>``, where scope
and key are upper-cased and every character other than a letter or digit becomes ``_``. For example
scope ``kafka-prod``, key ``sasl.password`` -> ``FITLAKE_SECRET__KAFKA_PROD__SASL_PASSWORD``.

As on Databricks, a value read this way never appears in a notebook's output: printed text, displayed
results, error messages, exit values and run records show ``[REDACTED]`` instead. The value is recognised as
it is and in the escaped forms that printing a string produces (``repr``, JSON, a JAAS quoted string, and
one of these inside another). As on Databricks, a transformed secret (base64-encoded, sliced, reversed) cannot
be recognised and is shown as it is.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fitlake.errors import SecretNotFoundError

ENV_PREFIX = "FITLAKE_SECRET__"
REDACTED = "[REDACTED]"


def secret_env_var(scope: str, key: str) -> str:
    def norm(part: str) -> str:
        return re.sub(r"[^A-Za-z0-9]", "_", part).upper()

    return f"{ENV_PREFIX}{norm(scope)}__{norm(key)}"


def _repr_inner(value: str) -> str:
    """What ``repr`` shows between the quotes: backslashes doubled, a quote escaped, control characters."""
    return repr(value)[1:-1]


def _repr_inner_both_quotes(value: str) -> str:
    """The secret inside the repr of a longer string holding both quote kinds: ``'`` escaped, ``"`` not."""
    return _repr_inner(value + "'\"")[:-3]


def _json_inner(value: str) -> str:
    return json.dumps(value)[1:-1]


def _json_inner_unicode(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _jaas_inner(value: str) -> str:
    """A JAAS option value's escaping (``fitlake.kafka.settings.jaas_config``): ``\\`` and ``\"``."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _bytes_repr_inner(value: str) -> str:
    """What ``repr`` of ``dbutils.secrets.getBytes`` shows between the quotes."""
    return repr(value.encode("utf-8"))[2:-1]


_ESCAPES = (_repr_inner, _repr_inner_both_quotes, _json_inner, _json_inner_unicode, _jaas_inner, _bytes_repr_inner)
# Two levels cover a secret escaped once inside a string that is escaped again, such as the JAAS line of the
# Kafka options inside the repr or the JSON of the options dict.
_ESCAPE_DEPTH = 2


def escaped_forms(value: str) -> set[str]:
    """``value`` and the forms printing it can produce: each escape above and each pair of them."""
    forms = {value}
    for depth in range(1, _ESCAPE_DEPTH + 1):
        for chain in itertools.product(_ESCAPES, repeat=depth):
            form = value
            for escape in chain:
                form = escape(form)
            forms.add(form)
    return forms


class Redactor:
    """Replaces every secret value handed out so far, and its escaped forms, with ``[REDACTED]``."""

    def __init__(self) -> None:
        self._forms: list[str] = []
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if value:
            with self._lock:
                # Longest first, so a secret (or form) that contains another is replaced whole.
                self._forms = sorted(set(self._forms) | escaped_forms(value), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
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


class RedactedException(Exception):  # noqa: N818 - stands in for any exception, not an error of its own
    """Stands in for an exception whose text held a secret: its type's name and its redacted traceback.

    The original cannot be kept anywhere in a chain (``__cause__``, ``__context__``): whoever formats the
    chain, a logger or a test runner, would print the secret.
    """

    def __init__(self, original_type: str, text: str):
        super().__init__(text)
        self.original_type = original_type


def redacted_error(error: BaseException, redact: Callable[[str], str]) -> BaseException:
    """``error`` itself when nothing in it or its chain names a secret, else a ``RedactedException``."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if redact(text) == text and redact(repr(error)) == repr(error):
        return error
    return RedactedException(type(error).__name__, redact(text))
