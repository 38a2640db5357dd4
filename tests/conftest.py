"""One session-scoped local SparkSession (Delta, UTC, few shuffle partitions) for every test."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from fitlake.local.layout import LocalLayout
from fitlake.local.session import local_spark


@pytest.fixture(scope="session")
def layout(tmp_path_factory: pytest.TempPathFactory) -> LocalLayout:
    return LocalLayout(tmp_path_factory.mktemp("data-root"), "dev")


@pytest.fixture(scope="session")
def spark(layout: LocalLayout) -> SparkSession:
    session = local_spark(layout, shuffle_partitions=2)
    yield session
    session.stop()
