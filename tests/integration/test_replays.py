"""Exactly-once at every flow: a micro-batch whose writes committed but whose checkpoint commit did not is
replayed on restart, and the replay changes no table.

Proves the rule "Exactly once" of docs/pipeline.md for bronze, silver and gold. A crash point
(``fitlake.crash_points``, the same one the crash harness kills at) ends each flow's first batch of set 2
right after its handler's writes, before Spark commits the batch: the state a crash between a MERGE's
commit and the checkpoint's leaves behind. The flow's query is then started again, and the test asserts
that it replayed exactly that batch (its number, its rows read again) and that every table is as the
crashed batch left it. After every flow has been through this, the lake holds exactly what sets 1 and 2
must give.
"""

from __future__ import annotations

from collections import Counter

import pytest
from lake import SETS, assert_as_expected, fresh_lake, land
from pyspark.errors import StreamingQueryException

from fitlake import crash_points, pipeline
from fitlake.pipeline.flow import Flow
from fitlake.streaming import checkpoint_state, latest_commit
from fitlake.tables import TABLES

pytestmark = pytest.mark.integration


def _tables(config) -> list[str]:  # noqa: ANN001 - a PipelineConfig
    return [config.table(spec.schema, spec.name) for spec in TABLES]


def _versions(spark, config) -> dict[str, int]:  # noqa: ANN001
    return {table: latest_commit(spark, table)[0] for table in _tables(config)}


def _rows(spark, table: str) -> Counter:  # noqa: ANN001
    return Counter(tuple(row) for row in spark.table(table).collect())


def _crash_then_replay(spark, config, flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    checkpoint = flow.checkpoint(config)
    before = checkpoint_state(spark, checkpoint)
    versions = _versions(spark, config)

    monkeypatch.setenv(crash_points.CRASH_AFTER_BATCH, flow.name)
    monkeypatch.setenv(crash_points.CRASH_MODE, crash_points.RAISE)
    with pytest.raises(StreamingQueryException, match=f"crash point: {flow.name} batch"):
        flow.run_once(spark, config)
    monkeypatch.delenv(crash_points.CRASH_AFTER_BATCH)
    crashed = checkpoint_state(spark, checkpoint)
    batch = crashed["planned"]
    assert (crashed["committed"], batch) == (before["committed"], before["committed"] + 1), flow.name  # uncommitted
    written = {table for table, version in _versions(spark, config).items() if version != versions[table]}
    assert config.table(*flow.name.split(".")) in written, flow.name  # its writes committed before the crash
    snapshot = {table: _rows(spark, table) for table in written}
    versions = _versions(spark, config)

    replay = flow.run_once(spark, config)
    progress = [(p["batchId"], p["numInputRows"]) for p in replay.recentProgress]
    # The same batch, its rows read again, and nothing after it (set 2 is one batch for every flow).
    assert [batch_id for batch_id, _ in progress] == [batch] and progress[0][1] > 0, (flow.name, progress)
    assert checkpoint_state(spark, checkpoint)["committed"] == batch, flow.name
    rewritten = {table for table, version in _versions(spark, config).items() if version != versions[table]}
    assert rewritten <= written, f"{flow.name}'s replay wrote to tables its batch had not: {rewritten - written}"
    changed = [table for table in rewritten if _rows(spark, table) != snapshot[table]]
    assert not changed, f"the replay of {flow.name} batch {batch} changed {changed}"


def test_a_batch_crashed_after_its_writes_is_replayed_at_every_flow_and_changes_nothing(spark, tmp_path, monkeypatch):
    """Set 1 processed and set 2 landed, so every flow has a batch ahead of it that meets rows its tables
    already hold. Flow by flow in the order of ``pipeline.FLOWS``, each after the flows it reads (so it reads all
    of set 2 from them): crash its batch after its writes, start it again, check the replay. Then a batch run
    finds nothing left, and every silver and gold table holds exactly the rows the generator expects."""
    config = fresh_lake(spark, tmp_path, SETS[0])
    land(config, SETS[0])
    pipeline.run(spark, config)
    land(config, SETS[1])
    for flow in pipeline.FLOWS:  # listed after the flows they read (tests/unit/test_flow_order.py)
        _crash_then_replay(spark, config, flow, monkeypatch)
    summary = pipeline.run(spark, config)
    assert all(written == {"inserted": 0, "updated": 0, "deleted": 0} for written in summary.tables.values())
    assert_as_expected(spark, config, 2)
