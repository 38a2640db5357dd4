"""``[extract]`` of ``config/<environment>.toml`` -> a validated ``ExtractConfig``.

On Databricks the JDBC URL, driver and secret names come from the file, and the widgets may only repeat the
URL and driver (they decide where the credentials go: ``fitlake.config.pinned_on_databricks``). Locally
(no Databricks) the source is the embedded SQLite database file under the environment's data root, with no
credentials, so the same notebook runs in both places; the ``jdbc_url`` and ``jdbc_driver`` widgets
(``--jdbc-url``, ``--jdbc-driver``) point it anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from fitlake import platform
from fitlake.config import CONFIG_DIR, pinned_on_databricks, read_environment_file
from fitlake.errors import ConfigError
from fitlake.extract.jdbc_url import checked_jdbc_url
from fitlake.extract.schema import LANDING_COLUMNS
from fitlake.toml_tables import check_table

SQLITE_DRIVER = "org.sqlite.JDBC"
# The local source database, relative to fitlake's working storage (platform.storage_path).
LOCAL_DATABASE = "sources/fitlake.sqlite"

_KEYS: dict[str, type] = {
    "jdbc_url": str,
    "jdbc_driver": str,
    "secret_scope": str,
    "user_key": str,
    "password_key": str,
    "overlap": int,
    "max_rows_per_file": int,
    "tables": dict,
}
# overlap: mark units re-read each run; max_rows_per_file: rows collected on the driver for one file.
BOUNDS = {"overlap": (0, 1_000_000_000), "max_rows_per_file": (1, 10_000_000)}
_TABLE_KEYS = ("table", "mark")
# A table or view, optionally schema- (and database-) qualified: it goes into SQL text, so nothing else.
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

SecretGetter = Callable[[str, str], str]


@dataclass(frozen=True)
class SourceTable:
    """Where one landing source comes from: a table (or view) and its change column (the mark)."""

    source: str
    table: str
    mark: str


@dataclass(frozen=True)
class ExtractConfig:
    jdbc_url: str
    jdbc_driver: str
    secret_scope: str
    user_key: str
    password_key: str
    overlap: int
    max_rows_per_file: int
    tables: tuple[SourceTable, ...]

    def table(self, source: str) -> SourceTable:
        for table in self.tables:
            if table.source == source:
                return table
        raise ConfigError(f"No [extract.tables.{source}] in the config; configured: {self.sources()}.")

    def sources(self) -> str:
        return ", ".join(table.source for table in self.tables)

    @property
    def shown_url(self) -> str:
        """The JDBC URL without its properties: what a notebook or log may print."""
        return checked_jdbc_url(self.jdbc_url, "extract.jdbc_url").shown

    def jdbc_options(self, get_secret: SecretGetter) -> dict[str, str]:
        """Spark JDBC reader options; user and password come from secrets (never from the file)."""
        options = {"url": self.jdbc_url, "driver": self.jdbc_driver}
        if self.secret_scope:
            options["user"] = get_secret(self.secret_scope, self.user_key)
            options["password"] = get_secret(self.secret_scope, self.password_key)
        return options


def load_extract_config(
    spark: SparkSession,
    environment: str,
    *,
    jdbc_url: str = "",
    jdbc_driver: str = "",
    config_dir: Path = CONFIG_DIR,
) -> ExtractConfig:
    """Load and validate ``[extract]``; non-empty arguments (widget values) override it."""
    path, raw = read_environment_file(environment, config_dir)
    config = _parse(raw.get("extract"), path)
    if platform.on_databricks():
        # The URL and the driver class decide where the database credentials go: no widget moves them.
        pinned_on_databricks("jdbc_url", config.jdbc_url, jdbc_url, path)
        pinned_on_databricks("jdbc_driver", config.jdbc_driver, jdbc_driver, path)
    else:
        database = platform.storage_path(spark, LOCAL_DATABASE).removeprefix("file:")
        config = replace(config, jdbc_url=f"jdbc:sqlite:{database}", jdbc_driver=SQLITE_DRIVER, secret_scope="")
    if jdbc_url:
        config = replace(config, jdbc_url=_jdbc_url(jdbc_url, "the jdbc_url widget"))
    if jdbc_driver:
        config = replace(config, jdbc_driver=jdbc_driver)
    return config


def _parse(section: Any, path: Path) -> ExtractConfig:
    check_table(path, section, "extract", _KEYS, bounds=BOUNDS)
    if section["secret_scope"] and not (section["user_key"] and section["password_key"]):
        raise ConfigError(f"{path}: extract.secret_scope is set, so extract.user_key and password_key must be too.")
    return ExtractConfig(
        jdbc_url=_jdbc_url(section["jdbc_url"], f"{path}: extract.jdbc_url"),
        jdbc_driver=section["jdbc_driver"],
        secret_scope=section["secret_scope"],
        user_key=section["user_key"],
        password_key=section["password_key"],
        overlap=section["overlap"],
        max_rows_per_file=section["max_rows_per_file"],
        tables=tuple(_table(source, value, path) for source, value in section["tables"].items()),
    )


def _table(source: str, value: Any, path: Path) -> SourceTable:
    where = f"{path}: [extract.tables.{source}]"
    if source not in LANDING_COLUMNS:
        raise ConfigError(f"{where}: unknown source; the extract lands {', '.join(LANDING_COLUMNS)}.")
    if not isinstance(value, dict) or sorted(value) != sorted(_TABLE_KEYS):
        raise ConfigError(f"{where} must have exactly the keys {', '.join(_TABLE_KEYS)}.")
    if not isinstance(value["table"], str) or not _TABLE_NAME.fullmatch(value["table"]):
        raise ConfigError(f"{where}: table {value['table']!r} must be a name like gym_sessions or dbo.gym_sessions.")
    if not isinstance(value["mark"], str) or not _COLUMN_NAME.fullmatch(value["mark"]):
        raise ConfigError(f"{where}: mark {value['mark']!r} must be a column name (letters, digits, underscores).")
    return SourceTable(source, value["table"], value["mark"])


def _jdbc_url(value: str, where: str) -> str:
    return checked_jdbc_url(value, where).url
