"""JDBC URLs without credentials: every URL property on an allow-list, no ``user[:password]@`` anywhere.

Database credentials come from secrets (``extract.secret_scope``) and reach Spark's JDBC reader as the
``user`` and ``password`` options, never inside the URL: a URL is printed, logged and kept in job
parameters. A deny-list of names (``password=``) misses ``PWD=``, ``accessToken=``, ``user:pw@host`` and
whatever the next driver calls its secret, so the check is an allow-list of the properties that the
supported sources need, and everything else is refused. Two URL forms are accepted:

- ``jdbc:sqlite:<file path>`` (the local source database), optionally ``?<property>=<value>&...``;
- ``jdbc:<driver>://<host>[:<port>][/<database>]`` followed by ``;<property>=<value>`` pairs (SQL Server,
  Azure SQL) or ``?<property>=<value>&...`` (PostgreSQL style).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fitlake.errors import ConfigError

# Connection settings that carry no credential, compared case-insensitively (SQL Server's keys are).
ALLOWED_PROPERTIES = frozenset(
    name.lower()
    for name in (
        "database", "databaseName", "currentSchema", "applicationName",
        "encrypt", "trustServerCertificate", "hostNameInCertificate", "ssl", "sslmode",
        "loginTimeout", "connectTimeout", "socketTimeout",
    )
)  # fmt: skip
_SUBPROTOCOL = re.compile(r"jdbc:([a-z][a-z0-9]*):(.*)", re.DOTALL)
_AUTHORITY_END = re.compile(r"[/;?]")


@dataclass(frozen=True)
class JdbcUrl:
    """A checked URL: ``shown`` is its driver, host and path without properties, for messages and logs."""

    url: str
    shown: str


def checked_jdbc_url(value: str, where: str) -> JdbcUrl:
    """``value`` if it is a JDBC URL with no credentials in it, else a ``ConfigError`` naming ``where``.

    A message never repeats the refused value: the part that made it refused may be a credential.
    """
    match = _SUBPROTOCOL.fullmatch(value)
    if match is None:
        raise ConfigError(f"{where}: not a JDBC URL; it must start with 'jdbc:' and a driver name (jdbc:sqlserver:).")
    driver, body = match.groups()
    if driver == "sqlite":
        path, _, query = body.partition("?")
        _check_properties(query.split("&") if query else [], where)
        return JdbcUrl(value, f"jdbc:sqlite:{path}")
    if not body.startswith("//"):
        raise ConfigError(f"{where}: a jdbc:{driver}: URL must have the form jdbc:{driver}://<host>[:<port>]...")
    rest = body[2:]
    end = _AUTHORITY_END.search(rest)
    authority, tail = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    if "@" in authority:
        raise ConfigError(
            f"{where}: the URL names a user (user[:password]@host); keep credentials in secrets "
            "(extract.secret_scope, user_key, password_key)."
        )
    if not authority:
        raise ConfigError(f"{where}: the jdbc:{driver}: URL names no host.")
    path, _, query = tail.partition("?")
    path, *pairs = path.split(";")
    _check_properties([*pairs, *(query.split("&") if query else [])], where)
    return JdbcUrl(value, f"jdbc:{driver}://{authority}{path}")


def _check_properties(pairs: list[str], where: str) -> None:
    for pair in pairs:
        if not pair:
            continue  # a trailing ';' or '&'
        name, sep, _ = pair.partition("=")
        if not sep or name.strip().lower() not in ALLOWED_PROPERTIES:
            raise ConfigError(
                f"{where}: URL property {name.strip()!r} is not allowed (a JDBC URL may only set "
                f"{', '.join(sorted(ALLOWED_PROPERTIES))}); keep credentials in secrets (extract.secret_scope)."
            )
