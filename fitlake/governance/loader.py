"""Loading ``[governance]`` and ``[deployment]`` from ``config/<environment>.toml``: every error names the
file and the key, and says what is expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fitlake.config import CONFIG_DIR, read_environment_file
from fitlake.errors import ConfigError
from fitlake.governance.model import (
    CATALOG,
    DATA_SECURITY_MODES,
    EXTERNAL_LOCATION,
    NODE_TYPE,
    PRIVILEGES,
    SCHEMA,
    SPARK_VERSION,
    WORKSPACE_FOLDER,
    Compute,
    Deployment,
    ExternalLocation,
    Governance,
    Grant,
    checked_name,
    checked_principal,
    checked_privileges,
    checked_url,
)
from fitlake.tables import SCHEMAS
from fitlake.toml_tables import check_table


def load_governance(environment: str, *, config_dir: Path = CONFIG_DIR) -> Governance:
    """The environment's ``[governance]`` section, validated; a ``ConfigError`` names the file and key."""
    path, raw = read_environment_file(environment, config_dir)
    section = _table(path, raw.get("governance"), "governance", _GOVERNANCE_KEYS)
    catalog = checked_name(_string(path, raw.get("catalog"), "catalog", "name"), f"{path}: catalog.name")
    storage = {key: _string(path, raw.get("storage"), "storage", key) for key in ("landing", "checkpoints")}
    principals = {
        checked_name(alias, f"{path}: governance.principals key"): checked_principal(
            value, f"{path}: governance.principals.{alias}"
        )
        for alias, value in _strings(path, section, "governance.principals").items()
    }
    locations = tuple(
        ExternalLocation(
            checked_name(name, f"{path}: governance.external_locations key"),
            checked_url(url, f"{path}: governance.external_locations.{name}"),
        )
        for name, url in _strings(path, section, "governance.external_locations").items()
    )
    managed = checked_url(
        _string(path, section, "governance", "managed_location"), f"{path}: governance.managed_location"
    )
    _check_coverage(path, locations, managed, storage)
    return Governance(
        environment=environment,
        catalog=catalog,
        managed_location=managed,
        storage_credential=checked_name(
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
    path, raw = read_environment_file(environment, config_dir)
    section = _table(path, raw.get("deployment"), "deployment", {"workspace_folder": str, "compute": dict})
    compute = _table(path, section["compute"], "deployment.compute", _COMPUTE_KEYS, bounds=COMPUTE_BOUNDS)
    folder = section["workspace_folder"]
    if not WORKSPACE_FOLDER.fullmatch(folder) or any(part in (".", "..") for part in folder.split("/")):
        raise ConfigError(
            f"{path}: deployment.workspace_folder {folder!r} must be an absolute workspace path such as "
            "/Workspace/Shared/fitlake/dev (letters, digits and _.@+- between slashes)."
        )
    _check(path, compute, "spark_version", SPARK_VERSION.fullmatch, "a runtime key such as 18.0.x-scala2.13")
    _check(path, compute, "node_type_id", NODE_TYPE.fullmatch, "an Azure node type such as Standard_D4ds_v5")
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
# A job cluster of this pipeline; a typo of one more digit would cost real money.
COMPUTE_BOUNDS = {"num_workers": (1, 1000)}


def _table(
    path: Path,
    value: Any,
    key: str,
    fields: dict[str, type],
    optional: tuple[str, ...] = (),
    bounds: dict[str, tuple[int, int]] | None = None,
) -> dict:
    """Governance and deployment values are names, URLs and lists that mean nothing when empty."""
    return check_table(path, value, key, fields, optional=optional, allow_empty=False, bounds=bounds)


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
        privileges=checked_privileges(value["privileges"], securable, f"{path}: {key}.privileges"),
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
