"""The driver's batch run as layer notebooks: their summaries combine into the driver's, and each layer notebook
takes the driver's lock token and returns its summary."""

from __future__ import annotations

import json
import re

import pytest

from fitlake.local.layout import repo_root
from fitlake.pipeline import LAYERS, RunSummary
from fitlake.pipeline.driver import LAYER_NOTEBOOKS, RUN_LOCK_TOKEN

NOTEBOOKS = repo_root() / "notebooks"


def _part(layer: str, **fields: object) -> RunSummary:
    return RunSummary(mode="batch", layers=[layer], started=f"2026-01-01T00:00:0{LAYERS.index(layer)}+00:00", **fields)


def test_layer_summaries_combine_into_one_in_layer_order():
    bronze = _part(
        "bronze",
        seconds=10.5,
        tables={"bronze.gym_logins_bz": {"inserted": 7, "updated": 0, "deleted": 0}},
        quarantined={"bronze.gym_logins_bz": 2},
        flow_seconds={"bronze.gym_logins_bz": 9.0},
    )
    silver = _part(
        "silver",
        seconds=20.25,
        tables={
            "silver.gym_logs": {"inserted": 5, "updated": 1, "deleted": 0},
            "silver.users": {"inserted": 0, "updated": 0, "deleted": 0},
        },
        quarantined={"silver.heart_rate": 3},
        flow_seconds={"silver.gym_logs": 12.0},
        skipped=["silver.users"],
    )
    gold = _part("gold", seconds=4.0, skipped=["gold.workout_bpm_summary"])
    # Through JSON and back, as the driver gets each layer notebook's exit value.
    parts = [RunSummary.from_dict(json.loads(json.dumps(part.as_dict()))) for part in (bronze, silver, gold)]
    combined = RunSummary.combine(parts).as_dict()
    assert combined == {
        "mode": "batch",
        "layers": ["bronze", "silver", "gold"],
        "started": "2026-01-01T00:00:00+00:00",
        "seconds": 34.75,
        "stopped_by": "completed",
        "tables": {**bronze.tables, **silver.tables},
        "quarantined": {"bronze.gym_logins_bz": 2, "silver.heart_rate": 3},
        "flow_seconds": {"bronze.gym_logins_bz": 9.0, "silver.gym_logs": 12.0},
        "skipped": ["silver.users", "gold.workout_bpm_summary"],
    }
    assert list(combined["tables"]) == ["bronze.gym_logins_bz", "silver.gym_logs", "silver.users"]


def test_the_combined_run_stopped_as_its_first_part_that_did_not_complete():
    parts = [_part("bronze"), _part("silver", stopped_by="interrupt"), _part("gold", stopped_by="timeout")]
    assert RunSummary.combine(parts).stopped_by == "interrupt"


def test_nothing_or_mixed_modes_do_not_combine():
    with pytest.raises(ValueError, match="no summary"):
        RunSummary.combine([])
    continuous = RunSummary(mode="continuous", layers=["silver"], started="2026-01-01T00:00:00+00:00")
    with pytest.raises(ValueError, match="continuous run with a batch run"):
        RunSummary.combine([_part("bronze"), continuous])


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_notebook_runs_its_layer_under_a_handed_lock_and_exits_with_its_summary(layer):
    ref = LAYER_NOTEBOOKS[layer]
    source = (NOTEBOOKS / f"{ref.removeprefix('./')}.py").read_text()
    assert re.search(rf'dbutils\.widgets\.text\("{RUN_LOCK_TOKEN}", ""', source)
    assert f'layers=["{layer}"]' in source and f"{RUN_LOCK_TOKEN}={RUN_LOCK_TOKEN}" in source
    assert "dbutils.notebook.exit(json.dumps(summary.as_dict()))" in source
    assert list(LAYER_NOTEBOOKS) == list(LAYERS)
