"""Unity Catalog governance as code: ``config/<environment>.toml`` -> a validated model -> idempotent SQL.

The ``[governance]`` section says what Unity Catalog must hold for an environment: its catalog and the
catalog's managed storage, the external locations over the landing zone and the checkpoints (through one
storage credential), who owns them and which groups may do what. ``[deployment]`` says where the
notebooks go in the workspace and what compute the job runs on. ``fitlake.config`` reads the other
sections; this module reads only these two (plus ``catalog.name`` and ``[storage]``, to check that the
external locations cover the storage paths).

Every name, URL, principal and privilege is validated when the file is loaded (errors name the file and
the key) and again where it is put into SQL, so no string from a config file or a widget reaches
``spark.sql`` unchecked. Principals are always backtick-quoted; one containing a backtick is rejected,
never escaped. Locally there is no Unity Catalog: ``apply`` reports each statement as skipped.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from fitlake import platform
from fitlake.config import CONFIG_DIR, ENVIRONMENTS
from fitlake.errors import ConfigError
from fitlake.identifiers import identifier
from fitlake.tables import SCHEMAS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SECTIONS = ("governance", "deployment")  # the top-level sections this module owns
EXECUTED = "executed"
SKIPPED_LOCALLY = "skipped: local runtime has no Unity Catalog"

CATALOG, SCHEMA, EXTERNAL_LOCATION = "catalog", "schema", "external_location"
_SECURABLE_SQL = {CATALOG: "CATALOG", SCHEMA: "SCHEMA", EXTERNAL_LOCATION: "EXTERNAL LOCATION"}
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
    r"^abfss://(?P<container>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])@[a-z0-9]{3,24}\.dfs\.core\.windows\.net"
    r"(?P<path>(/[A-Za-z0-9_.=-]+)*)/?$"
)
_URL_FORM = "abfss://<container>@<account>.dfs.core.windows.net/<path> (no quotes, spaces or '..')"
_PRINCIPAL = re.compile(r"^[A-Za-z0-9_.@+-]([A-Za-z0-9 _.@+-]{0,253}[A-Za-z0-9_.@+-])?$")
_WORKSPACE_FOLDER = re.compile(r"^/Workspace(/[A-Za-z0-9_.@+-]+)+$")
_SPARK_VERSION = re.compile(r"^\d+\.\d+\.x(-[a-z0-9]+)*-scala\d+\.\d+$")
_NODE_TYPE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


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


# ---------------------------------------------------------------------------------------------- loading


def load_governance(environment: str, *, config_dir: Path = CONFIG_DIR) -> Governance:
    """The environment's ``[governance]`` section, validated; a ``ConfigError`` names the file and key."""
    path, raw = _read(environment, config_dir)
    section = _table(path, raw.get("governance"), "governance", _GOVERNANCE_KEYS)
    catalog = _name(_string(path, raw.get("catalog"), "catalog", "name"), f"{path}: catalog.name")
    storage = {key: _string(path, raw.get("storage"), "storage", key) for key in ("landing", "checkpoints")}
    principals = {
        _name(alias, f"{path}: governance.principals key"): _principal(value, f"{path}: governance.principals.{alias}")
        for alias, value in _strings(path, section, "governance.principals").items()
    }
    locations = tuple(
        ExternalLocation(
            _name(name, f"{path}: governance.external_locations key"),
            _url(url, f"{path}: governance.external_locations.{name}"),
        )
        for name, url in _strings(path, section, "governance.external_locations").items()
    )
    managed = _url(_string(path, section, "governance", "managed_location"), f"{path}: governance.managed_location")
    _check_coverage(path, locations, managed, storage)
    return Governance(
        environment=environment,
        catalog=catalog,
        managed_location=managed,
        storage_credential=_name(
            _string(path, section, "governance", "storage_credential"), f"{path}: governance.storage_credential"
        ),
        external_locations=locations,
        schemas=SCHEMAS,
        owner=_alias(path, principals, _string(path, section, "governance", "owner"), "governance.owner"),
        grants=tuple(
            _grant(path, value, f"governance.grants #{number}", principals, locations)
            for number, value in enumerate(_grant_list(path, section), start=1)
        ),
    )


def load_deployment(environment: str, *, config_dir: Path = CONFIG_DIR) -> Deployment:
    """The environment's ``[deployment]`` section: workspace folder and job compute, validated."""
    path, raw = _read(environment, config_dir)
    section = _table(path, raw.get("deployment"), "deployment", {"workspace_folder": str, "compute": dict})
    compute = _table(path, section["compute"], "deployment.compute", _COMPUTE_KEYS)
    folder = section["workspace_folder"]
    if not _WORKSPACE_FOLDER.match(folder) or any(part in (".", "..") for part in folder.split("/")):
        raise ConfigError(
            f"{path}: deployment.workspace_folder {folder!r} must be an absolute workspace path such as "
            "/Workspace/Shared/fitlake/dev (letters, digits and _.@+- between slashes)."
        )
    _check(path, compute, "spark_version", _SPARK_VERSION.match, "a runtime key such as 18.0.x-scala2.13")
    _check(path, compute, "node_type_id", _NODE_TYPE.match, "an Azure node type such as Standard_D4ds_v5")
    _check(path, compute, "num_workers", lambda n: n >= 1, "a whole number of at least 1")
    _check(path, compute, "data_security_mode", DATA_SECURITY_MODES.__contains__, " or ".join(DATA_SECURITY_MODES))
    return Deployment(environment, folder, Compute(**compute))


_GOVERNANCE_KEYS = {
    "managed_location": str,
    "storage_credential": str,
    "owner": str,
    "external_locations": dict,
    "principals": dict,
    "grants": list,
}
_GRANT_KEYS = {"principal": str, "securable": str, "name": str, "privileges": list}
_COMPUTE_KEYS = {"spark_version": str, "node_type_id": str, "num_workers": int, "data_security_mode": str}


def _read(environment: str, config_dir: Path) -> tuple[Path, dict[str, Any]]:
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"environment must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}.")
    path = config_dir / f"{environment}.toml"
    if not path.is_file():
        raise ConfigError(f"Config file {path} is missing: add one per environment ({', '.join(ENVIRONMENTS)}).")
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from error


def _table(path: Path, value: Any, key: str, fields: dict[str, type], optional: tuple[str, ...] = ()) -> dict:
    """``value`` as a TOML table with exactly ``fields`` (those in ``optional`` may be left out)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{key}] is missing or not a table.")
    for name in value:
        if name not in fields:
            raise ConfigError(f"{path}: unknown key {key}.{name}; expected {', '.join(fields)}.")
    for name, kind in fields.items():
        if name not in value:
            if name in optional:
                continue
            raise ConfigError(f"{path}: {key}.{name} is missing ({_KIND[kind]} expected).")
        if not isinstance(value[name], kind) or isinstance(value[name], bool):
            raise ConfigError(f"{path}: {key}.{name} must be {_KIND[kind]}, got {type(value[name]).__name__}.")
        if kind in (str, dict, list) and not value[name]:
            raise ConfigError(f"{path}: {key}.{name} is empty ({_KIND[kind]} expected).")
    return value


_KIND = {str: "a non-empty string", int: "a whole number", dict: "a table", list: "a non-empty list"}


def _string(path: Path, table: Any, section: str, key: str) -> str:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: section [{section}] is missing.")
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}: {section}.{key} is missing or empty (a non-empty string expected).")
    return value


def _strings(path: Path, section: dict, key: str) -> dict[str, str]:
    table = section[key.split(".")[-1]]
    for name, value in table.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: {key}.{name} must be a non-empty string, got {value!r}.")
    return table


def _grant_list(path: Path, section: dict) -> list[dict]:
    grants = section["grants"]
    if not all(isinstance(grant, dict) for grant in grants):
        raise ConfigError(f"{path}: governance.grants must be an array of tables ([[governance.grants]]).")
    return grants


def _grant(
    path: Path, value: dict, key: str, principals: dict[str, str], locations: tuple[ExternalLocation, ...]
) -> Grant:
    _table(path, value, key, _GRANT_KEYS, optional=("name",))
    securable, name = value["securable"], value.get("name", "")
    if securable not in PRIVILEGES:
        raise ConfigError(f"{path}: {key}.securable {securable!r} must be one of {', '.join(PRIVILEGES)}.")
    if securable == CATALOG and name:
        raise ConfigError(f"{path}: {key}.name must be left out: a catalog grant is on the environment's catalog.")
    if securable == SCHEMA and name not in SCHEMAS:
        raise ConfigError(f"{path}: {key}.name {name!r} must be one of the schemas {', '.join(SCHEMAS)}.")
    if securable == EXTERNAL_LOCATION and name not in {location.name for location in locations}:
        raise ConfigError(f"{path}: {key}.name {name!r} must be a key of [governance.external_locations].")
    return Grant(
        principal=_alias(path, principals, value["principal"], f"{key}.principal"),
        securable=securable,
        name=name,
        privileges=_privileges(value["privileges"], securable, f"{path}: {key}.privileges"),
    )


def _alias(path: Path, principals: dict[str, str], alias: str, key: str) -> str:
    if alias not in principals:
        raise ConfigError(
            f"{path}: {key} {alias!r} must be a key of [governance.principals] ({', '.join(principals)})."
        )
    return principals[alias]


def _check_coverage(path: Path, locations: tuple[ExternalLocation, ...], managed: str, storage: dict) -> None:
    """Storage paths and the managed location lie in external locations, which do not overlap each other."""
    for index, first in enumerate(locations):
        for second in locations[index + 1 :]:
            if _inside(first.url, second.url) or _inside(second.url, first.url):
                raise ConfigError(
                    f"{path}: governance.external_locations.{first.name} and .{second.name} overlap; Unity Catalog "
                    "external locations must not overlap."
                )
    for key, url in {"governance.managed_location": managed, **{f"storage.{k}": v for k, v in storage.items()}}.items():
        if not any(_inside(url, location.url) for location in locations):
            raise ConfigError(
                f"{path}: {key} {url!r} lies in none of [governance.external_locations]; add a location whose URL "
                "is it or a folder above it."
            )
    home = next(location for location in locations if _inside(managed, location.url))
    for key, url in storage.items():
        if _inside(url, home.url):
            raise ConfigError(
                f"{path}: storage.{key} lies in {home.name}, the external location of governance.managed_location; "
                "give the catalog's managed storage a location of its own."
            )


def _inside(url: str, parent: str) -> bool:
    url, parent = url.rstrip("/"), parent.rstrip("/")
    return url == parent or url.startswith(parent + "/")


def _check(path: Path, table: dict, key: str, accepts: Any, expected: str) -> None:
    if not accepts(table[key]):
        raise ConfigError(f"{path}: deployment.compute.{key} {table[key]!r} is invalid; expected {expected}.")


# ------------------------------------------------------------------------------------------- validators


def _name(value: Any, where: str) -> str:
    try:
        return identifier(value, "name")
    except ConfigError:
        raise ConfigError(
            f"{where}: {value!r} is not a valid name; use letters, digits and underscores, starting with a letter "
            "or underscore."
        ) from None


def _url(value: Any, where: str) -> str:
    match = _ABFSS.match(value) if isinstance(value, str) else None
    if match is None or "--" in match["container"] or any(part in (".", "..") for part in match["path"].split("/")):
        raise ConfigError(f"{where}: {value!r} is not an ADLS Gen2 URL; expected {_URL_FORM}.")
    return value


def _principal(value: Any, where: str) -> str:
    if isinstance(value, str) and "`" in value:
        raise ConfigError(f"{where}: principal {value!r} contains a backtick; such a name is rejected, not escaped.")
    if not isinstance(value, str) or not _PRINCIPAL.match(value):
        raise ConfigError(
            f"{where}: principal {value!r} is invalid; expected a group name, user e-mail or service principal "
            "application id (letters, digits, spaces and _.@+-, at most 255 characters, no leading or trailing space)."
        )
    return value


def _privileges(values: Any, securable: str, where: str) -> tuple[str, ...]:
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


# ------------------------------------------------------------------------------------------- rendering


def render_catalog_sql(governance: Governance) -> list[str]:
    """External locations first (the catalog's managed location must lie in one), then the catalog, schemas."""
    credential = _name(governance.storage_credential, "storage credential")
    catalog = _name(governance.catalog, "catalog")
    statements = [
        f"CREATE EXTERNAL LOCATION IF NOT EXISTS {_name(location.name, 'external location')} "
        f"URL '{_url(location.url, location.name)}' WITH (STORAGE CREDENTIAL {credential})"
        for location in governance.external_locations
    ]
    statements.append(
        f"CREATE CATALOG IF NOT EXISTS {catalog} MANAGED LOCATION '{_url(governance.managed_location, catalog)}'"
    )
    statements.extend(
        f"CREATE SCHEMA IF NOT EXISTS {catalog}.{_name(schema, 'schema')}" for schema in governance.schemas
    )
    return statements


def render_grants_sql(governance: Governance) -> list[str]:
    """Grants, then ownership: transferring ownership last keeps a non-admin runner able to grant."""
    catalog = _name(governance.catalog, "catalog")
    statements = [
        f"GRANT {', '.join(_privileges(grant.privileges, grant.securable, 'grant'))} "
        f"ON {_securable(catalog, grant)} TO {_quoted(grant.principal)}"
        for grant in governance.grants
    ]
    owner = _quoted(governance.owner)
    statements.append(f"ALTER CATALOG {catalog} OWNER TO {owner}")
    statements.extend(
        f"ALTER EXTERNAL LOCATION {_name(location.name, 'external location')} OWNER TO {owner}"
        for location in governance.external_locations
    )
    return statements


def render_sql(governance: Governance) -> list[str]:
    """Every statement, in the order the setup notebooks run them (00 catalog and locations, 03 grants)."""
    return [*render_catalog_sql(governance), *render_grants_sql(governance)]


def to_script(statements: Sequence[str]) -> str:
    """Statements as one SQL script, each ended by ``;`` on its own line."""
    return "".join(f"{statement};\n" for statement in statements)


def _securable(catalog: str, grant: Grant) -> str:
    if grant.securable == CATALOG:
        return f"CATALOG {catalog}"
    if grant.securable == SCHEMA:
        return f"SCHEMA {catalog}.{_name(grant.name, 'schema')}"
    if grant.securable == EXTERNAL_LOCATION:
        return f"EXTERNAL LOCATION {_name(grant.name, 'external location')}"
    raise ConfigError(f"grant: securable {grant.securable!r} must be one of {', '.join(_SECURABLE_SQL)}.")


def _quoted(principal: str) -> str:
    return f"`{_principal(principal, 'grant')}`"


# ------------------------------------------------------------------------------------------- applying


def apply(spark: SparkSession, statements: Sequence[str]) -> list[tuple[str, str]]:
    """Run ``statements`` on Databricks; locally, where Unity Catalog does not exist, skip each one.

    Returns (statement, status) pairs, status ``executed`` or ``skipped: local runtime has no Unity Catalog``.
    """
    if not platform.on_databricks():
        return [(statement, SKIPPED_LOCALLY) for statement in statements]
    results = []
    for statement in statements:
        spark.sql(statement)
        results.append((statement, EXECUTED))
    return results


def counts(results: Sequence[tuple[str, str]]) -> dict[str, int]:
    """How many statements were executed and how many skipped: the setup notebooks' exit value."""
    executed = sum(status == EXECUTED for _, status in results)
    return {"executed": executed, "skipped": len(results) - executed}


def report(results: Sequence[tuple[str, str]], governance: Governance) -> str:
    """One sentence for the notebook: what ran where, or that nothing ran because this is the local runtime."""
    skipped = sum(status == SKIPPED_LOCALLY for _, status in results)
    if skipped:
        return (
            f"Local runtime: Unity Catalog exists only on Databricks, so {skipped} statement(s) for catalog "
            f"{governance.catalog} were skipped, not run. This is the SQL Databricks would run:\n\n"
            + to_script([statement for statement, _ in results])
        )
    return f"{len(results)} statement(s) executed for catalog {governance.catalog}."
