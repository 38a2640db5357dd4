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
from pathlib import Path

import pytest
from lake import SETS, assert_as_expected, fresh_lake, land
from pyspark.errors import StreamingQueryException

from fitlake import crash_points, pipeline
from fitlake.crash_points import write_point
from fitlake.pipeline import silver as silver_flows
from fitlake.pipeline.checkpoints import RETIRED_SUFFIX
from fitlake.pipeline.flow import Flow, flow_checkpoint
from fitlake.streaming import checkpoint_state, latest_commit
from fitlake.tables import BRONZE, SILVER, TABLES

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


# Each flow that derives a table in its batches: the crash point between its writes, its parent and derived table.
DERIVING = {
    silver_flows.EVENTS_WRITTEN[0]: (write_point(*silver_flows.EVENTS_WRITTEN), "workouts", "completed_workouts"),
    silver_flows.PROFILES_WRITTEN[0]: (write_point(*silver_flows.PROFILES_WRITTEN), "user_profile", "user_bins"),
}


def test_tables_derived_in_a_flows_batch_survive_a_crash_between_its_writes_and_catch_up_after_retired_flows(
    spark, tmp_path, monkeypatch
):
    """The workouts flow MERGEs a batch's events, then derives the completions of their workouts in the same
    batch; the user_profile flow its profiles, then their users' bins.

    - A crash between the two writes leaves the parent written and the derived table not; the replay of that
      batch writes no parent row twice and derives the rest.
    - A lake from the days completed_workouts and user_bins had flows of their own can hold parent rows those
      flows had not read yet (played here by a run whose derivations are left out); their checkpoints still
      there, the next run derives them (``retire_derived_flows``), although the parents' flows have nothing
      new, and moves the checkpoints aside. On a lake that is up to date it writes nothing.

    Each time, every silver and gold table then holds exactly the rows the generator expects.
    """
    config = fresh_lake(spark, tmp_path, SETS[0])
    land(config, SETS[0])
    pipeline.run(spark, config, layers=[BRONZE])
    for flow in (flow for flow in pipeline.FLOWS if flow.name in DERIVING):
        point, parent, derived = DERIVING[flow.name]
        monkeypatch.setenv(crash_points.CRASH_AFTER_BATCH, point)
        with pytest.raises(StreamingQueryException, match=f"crash point: {point} batch 0"):
            flow.run_once(spark, config)
        monkeypatch.delenv(crash_points.CRASH_AFTER_BATCH)
        assert spark.table(config.table(SILVER, parent)).count() > 0, parent  # the parent's MERGE committed ...
        assert spark.table(config.table(SILVER, derived)).count() == 0, derived  # ... the derived rows did not
    pipeline.run(spark, config)
    assert_as_expected(spark, config, 1)

    land(config, SETS[1])
    with monkeypatch.context() as patched:
        patched.setattr(silver_flows, "_complete_workouts", lambda *_: None)
        patched.setattr(silver_flows, "_bin_users", lambda *_: None)
        pipeline.run(spark, config)
    retired = [Path(flow_checkpoint(config, SILVER, name).removeprefix("file:")) for name in silver_flows.RETIRED_FLOWS]
    for checkpoint in retired:
        checkpoint.mkdir(parents=True)
        (checkpoint / "metadata").write_text('{"id":"a query of the retired flow"}\n')
    summary = pipeline.run(spark, config)
    assert set(DERIVING) <= set(summary.skipped)  # nothing new for them: the catch-up came before the flows
    for name in silver_flows.RETIRED_FLOWS:
        assert any(summary.tables[f"{SILVER}.{name}"].values()), name  # the catch-up's rows, counted
    for checkpoint in retired:
        assert not checkpoint.exists() and len(list(checkpoint.parent.glob(f"{checkpoint.name}{RETIRED_SUFFIX}*"))) == 1
    assert_as_expected(spark, config, 2)

    # On a lake that is up to date, the catch-up writes nothing.
    for checkpoint in retired:
        checkpoint.mkdir()
    summary = pipeline.run(spark, config)
    assert not any(checkpoint.exists() for checkpoint in retired)
    for name in silver_flows.RETIRED_FLOWS:
        assert not any(summary.tables[f"{SILVER}.{name}"].values()), name
    assert_as_expected(spark, config, 2)
