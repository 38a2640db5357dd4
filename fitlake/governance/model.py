"""The governance model: securables, privileges, the validated dataclasses and the value checks that
every name, URL, principal and privilege passes before it is stored or put into SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fitlake.errors import ConfigError
from fitlake.identifiers import identifier

SECTIONS = ("governance", "deployment")  # the top-level sections this module owns

CATALOG, SCHEMA, EXTERNAL_LOCATION = "catalog", "schema", "external_location"
SECURABLE_SQL = {CATALOG: "CATALOG", SCHEMA: "SCHEMA", EXTERNAL_LOCATION: "EXTERNAL LOCATION"}
# The privileges a grant may name, per securable (Unity Catalog privilege model 1.0).
# fmt: off
PRIVILEGES: dict[str, frozenset[str]] = {
    CATALOG: frozenset({
        "ALL PRIVILEGES", "APPLY TAG", "BROWSE", "CREATE FUNCTION", "CREATE MATERIALIZED VIEW", "CREATE MODEL",
        "CREATE SCHEMA", "CREATE TABLE", "CREATE VOLUME", "EXECUTE", "MANAGE", "MODIFY", "READ VOLUME", "REFRESH",
        "SELECT", "USE CATALOG", "USE SCHEMA", "WRITE VOLUME",
    }),
    SCHEMA: frozenset({
        "ALL PRIVILEGES", "APPLY TAG", "CREATE FUNCTION", "CREATE MATERIALIZED VIEW", "CREATE MODEL", "CREATE TABLE",
        "CREATE VOLUME", "EXECUTE", "MANAGE", "MODIFY", "READ VOLUME", "REFRESH", "SELECT", "USE SCHEMA",
        "WRITE VOLUME",
    }),
    EXTERNAL_LOCATION: frozenset({
        "ALL PRIVILEGES", "BROWSE", "CREATE EXTERNAL TABLE", "CREATE EXTERNAL VOLUME", "CREATE MANAGED STORAGE",
        "MANAGE", "READ FILES", "WRITE FILES",
    }),
}
# fmt: on
DATA_SECURITY_MODES = ("SINGLE_USER", "USER_ISOLATION")  # the classic access modes that can use Unity Catalog

_ABFSS = re.compile(
    r"abfss://(?P<container>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])@[a-z0-9]{3,24}\.dfs\.core\.windows\.net"
    r"(?P<path>(/[A-Za-z0-9_.=-]+)*)/?"
)
_URL_FORM = "abfss://<container>@<account>.dfs.core.windows.net/<path> (no quotes, spaces or '..')"
_PRINCIPAL = re.compile(r"[A-Za-z0-9_.@+-]([A-Za-z0-9 _.@+-]{0,253}[A-Za-z0-9_.@+-])?")
WORKSPACE_FOLDER = re.compile(r"/Workspace(/[A-Za-z0-9_.@+-]+)+")
SPARK_VERSION = re.compile(r"\d+\.\d+\.x(-[a-z0-9]+)*-scala\d+\.\d+")
NODE_TYPE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


@dataclass(frozen=True)
class ExternalLocation:
    name: str
    url: str


@dataclass(frozen=True)
class Grant:
    """``privileges`` on one securable for one principal; ``name`` is empty for the catalog itself."""

    principal: str
    securable: str
    name: str
    privileges: tuple[str, ...]


@dataclass(frozen=True)
class Governance:
    environment: str
    catalog: str
    managed_location: str
    storage_credential: str
    external_locations: tuple[ExternalLocation, ...]
    schemas: tuple[str, ...]
    owner: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class Compute:
    spark_version: str
    node_type_id: str
    num_workers: int
    data_security_mode: str


@dataclass(frozen=True)
class Deployment:
    environment: str
    workspace_folder: str
    compute: Compute


def checked_name(value: Any, where: str) -> str:
    try:
        return identifier(value, "name")
    except ConfigError:
        raise ConfigError(
            f"{where}: {value!r} is not a valid name; use letters, digits and underscores, starting with a letter "
            "or underscore."
        ) from None


def checked_url(value: Any, where: str) -> str:
    match = _ABFSS.fullmatch(value) if isinstance(value, str) else None
    if match is None or "--" in match["container"] or any(part in (".", "..") for part in match["path"].split("/")):
        raise ConfigError(f"{where}: {value!r} is not an ADLS Gen2 URL; expected {_URL_FORM}.")
    return value


def checked_principal(value: Any, where: str) -> str:
    if isinstance(value, str) and "`" in value:
        raise ConfigError(f"{where}: principal {value!r} contains a backtick; such a name is rejected, not escaped.")
    if not isinstance(value, str) or not _PRINCIPAL.fullmatch(value):
        raise ConfigError(
            f"{where}: principal {value!r} is invalid; expected a group name, user e-mail or service principal "
            "application id (letters, digits, spaces and _.@+-, at most 255 characters, no leading or trailing space)."
        )
    return value


def checked_privileges(values: Any, securable: str, where: str) -> tuple[str, ...]:
    allowed = PRIVILEGES.get(securable, frozenset())
    if not isinstance(values, list | tuple) or not values:
        raise ConfigError(f"{where}: a non-empty list of privileges expected.")
    privileges = tuple(" ".join(value.split()).upper() if isinstance(value, str) else value for value in values)
    for privilege in privileges:
        if privilege not in allowed:
            raise ConfigError(
                f"{where}: {privilege!r} is not a privilege on a {securable}; expected one of "
                f"{', '.join(sorted(allowed))}."
            )
    if len(set(privileges)) != len(privileges):
        raise ConfigError(f"{where}: {list(values)} names a privilege twice.")
    if "ALL PRIVILEGES" in privileges and len(privileges) > 1:
        raise ConfigError(f"{where}: ALL PRIVILEGES already includes the others; list it alone.")
    return privileges
