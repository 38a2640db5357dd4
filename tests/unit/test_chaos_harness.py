"""The crash harness's own plumbing (fitlake/chaos.py), without Spark: how it lands a set in parts, and what it
says when a run fails by itself. Its real plays are in tests/integration/test_chaos.py."""

from __future__ import annotations

import sys

import pytest

from fitlake import chaos
from fitlake.contract import DATE_LOOKUP, KAFKA_MULTIPLEX, REGISTERED_USERS
from fitlake.errors import FitlakeError


def test_a_run_that_fails_by_itself_puts_the_end_of_its_own_output_in_the_error(tmp_path, monkeypatch):
    """CI keeps the error and discards the work folder: the cause must be in the message, and only the failed
    run's output (not an earlier run's)."""
    lake = chaos.Lake(tmp_path / "lake", "2026-01-01")
    say = "import sys; print(sys.argv[1:3]); print('earlier lines'); print('the cause: boom'); sys.exit(3)"
    monkeypatch.setattr(chaos, "FITLAKE", [sys.executable, "-c", say])
    lake.log.write_text("\n=== an earlier run\nits own error\n")

    with pytest.raises(FitlakeError) as raised:
        lake.run_alone()

    message = str(raised.value)
    assert "failed by itself (exit 3)" in message
    assert str(lake.log) in message
    assert message.rstrip().endswith("the cause: boom")
    assert "earlier lines" in message and "its own error" not in message


def test_the_tail_is_bounded(tmp_path):
    lake = chaos.Lake(tmp_path / "lake", "2026-01-01")
    lake.log.write_text("\n=== a run\n" + "\n".join(f"line {n}" for n in range(500)) + "\n")

    lines = lake.last_run(lines=5).splitlines()

    assert lines[1:] == [f"line {n}" for n in range(495, 500)]


def test_a_set_is_landed_in_parts_each_with_some_of_every_source_and_the_calendar_first(tmp_path):
    files = [(DATE_LOOKUP.name, tmp_path / "d.csv")]
    files += [(KAFKA_MULTIPLEX.name, tmp_path / f"k{n}.json") for n in range(4)]
    files += [(REGISTERED_USERS.name, tmp_path / f"r{n}.csv") for n in range(3)]

    parts = chaos._parts(files, 3)

    assert sorted(item for part in parts for item in part) == sorted(files)  # nothing lost, nothing twice
    assert parts[0][0][0] == DATE_LOOKUP.name
    assert all({KAFKA_MULTIPLEX.name, REGISTERED_USERS.name} <= {source for source, _ in part} for part in parts)


def test_the_points_it_takes_are_the_flows_and_the_points_between_two_writes_of_a_batch(tmp_path, capsys):
    """``--points`` names a flow (after its batch's writes) or ``<flow>/<write>`` (between two of them); anything
    else is refused before a run starts, naming what it takes."""
    from fitlake import pipeline
    from fitlake.cli import main
    from fitlake.pipeline import silver

    assert set(silver.WRITE_POINTS) == {"silver.workouts/events", "silver.user_profile/profiles"}
    assert set(pipeline.CRASH_POINTS) == {flow.name for flow in pipeline.FLOWS} | set(silver.WRITE_POINTS)
    assert main(["chaos", str(tmp_path), "--points", "silver.workouts/events, silver.nothing"]) == 2
    error = capsys.readouterr().err
    assert "Unknown crash point(s) ['silver.nothing']" in error and "silver.user_profile/profiles" in error
