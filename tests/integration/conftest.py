"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from lake import Snapshot, run_sets_as_files


@pytest.fixture(scope="session")
def file_mode_tables(spark, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """Silver and gold after sets 1 and 2 landed as files (one batch run each): what every source path must give.

    Computed once per session; tests that use it build their own lake afterwards (the tables are shared).
    """
    return run_sets_as_files(spark, tmp_path_factory.mktemp("file-mode"))
