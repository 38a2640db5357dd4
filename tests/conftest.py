"""One session-scoped local SparkSession (Delta, UTC, few shuffle partitions) for every test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from fitlake.config import CONFIG_DIR, ENVIRONMENTS
from fitlake.local.layout import LocalLayout
from fitlake.local.session import local_spark

# With FITLAKE_NO_SKIPS=1, as in .ci/run, a skipped test fails naming why it skipped (tests/no_skips.py).
pytest_plugins = ("no_skips",)


@pytest.fixture(scope="session")
def layout(tmp_path_factory: pytest.TempPathFactory) -> LocalLayout:
    return LocalLayout(tmp_path_factory.mktemp("data-root"), "dev")


@pytest.fixture(scope="session")
def spark(layout: LocalLayout) -> SparkSession:
    session = local_spark(layout, shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of config/ (every environment's file) that a test may edit (configfiles.edit)."""
    for env in ENVIRONMENTS:
        shutil.copy(CONFIG_DIR / f"{env}.toml", tmp_path / f"{env}.toml")
    return tmp_path
