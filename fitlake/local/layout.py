"""Where local data lives: one data root, one folder per environment so environments never mix.

```
<data root>/                 default .fitlake/ in the repo; FITLAKE_DATA_ROOT or --data-root override it
  <env>/                     dev | qa | prod
    warehouse/               managed tables: <schema>.db/<table>/ (Delta)
    metastore_db/            the persistent Hive metastore (Derby) that names them
    dbfs/                    what dbfs:/ paths map to; fitlake/ under it is working storage (landing, checkpoints)
    Volumes/                 what /Volumes/... paths map to
    runs/                    run records: executed notebooks as .ipynb and .html
    kafka/                   the local Kafka broker's files (fitlake kafka start)
```

Every local path derives from ``LocalLayout``. Code that also runs on Databricks never imports it: the local
session notes its storage and broker folders in its conf (``fitlake.local.session``), where ``fitlake.platform``
and the Kafka settings read them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fitlake.errors import ConfigError
from fitlake.parameters import ENVIRONMENTS
from fitlake.platform import CHECKPOINTS_FOLDER, DBFS_ROOT, LANDING_FOLDER

DATA_ROOT_ENV_VAR = "FITLAKE_DATA_ROOT"


def repo_root() -> Path:
    """The repository this package was installed from (editable install), else the working directory."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "pyproject.toml").is_file() else Path.cwd()


def resolve_data_root(flag: str | None = None) -> Path:
    """The data root: the CLI flag wins, then the environment variable, then ``.fitlake/`` in the repo."""
    chosen = flag or os.environ.get(DATA_ROOT_ENV_VAR) or str(repo_root() / ".fitlake")
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class LocalLayout:
    data_root: Path
    env: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_root", Path(self.data_root))
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"Unknown environment {self.env!r}: expected one of {', '.join(ENVIRONMENTS)}.")

    @property
    def env_root(self) -> Path:
        return self.data_root / self.env

    @property
    def warehouse(self) -> Path:
        return self.env_root / "warehouse"

    def table_folder(self, schema: str, table: str) -> Path:
        """Where a managed table's files are: Spark names a schema's folder ``<schema>.db`` in the warehouse."""
        return self.warehouse / f"{schema}.db" / table

    @property
    def metastore(self) -> Path:
        return self.env_root / "metastore_db"

    @property
    def dbfs(self) -> Path:
        return self.env_root / "dbfs"

    @property
    def volumes(self) -> Path:
        return self.env_root / "Volumes"

    @property
    def runs(self) -> Path:
        return self.env_root / "runs"

    @property
    def kafka(self) -> Path:
        return self.env_root / "kafka"

    @property
    def landing(self) -> Path:
        """The landing zone a local run reads (the config's ``landing`` unless a widget overrides it)."""
        return self.storage(LANDING_FOLDER)

    @property
    def checkpoints(self) -> Path:
        return self.storage(CHECKPOINTS_FOLDER)

    def storage(self, relative: str = "") -> Path:
        """Where ``platform.storage_path(relative)`` (under ``dbfs:/fitlake`` on Databricks) lives locally."""
        return self.dbfs.joinpath(DBFS_ROOT.removeprefix("dbfs:/"), *filter(None, relative.split("/")))
