"""The order of a batch run: each flow waits for the flows writing the tables it reads, and for no other."""

from __future__ import annotations

from fitlake import pipeline
from fitlake.config import load_config
from fitlake.pipeline.flow import waits_for
from fitlake.tables import SILVER

BRONZE_CSV = {"silver.users": "bronze.registered_users_bz", "silver.gym_logs": "bronze.gym_logins_bz"}


def test_each_flow_waits_for_the_flows_writing_its_inputs(spark):
    waits = waits_for(pipeline.FLOWS, load_config(spark, "dev"))
    kafka = ("bronze.kafka_multiplex_bz",)
    assert waits == {
        "bronze.registered_users_bz": (),
        "bronze.gym_logins_bz": (),
        "bronze.kafka_multiplex_bz": (),
        **{flow: (bronze,) for flow, bronze in BRONZE_CSV.items()},
        "silver.user_profile": kafka,
        "silver.heart_rate": kafka,
        "silver.workouts": kafka,
        # completed_workouts and user_bins are derived in the workouts and user_profile flows: readers wait for those.
        "silver.workout_bpm": ("silver.heart_rate", "silver.workouts", "silver.users"),
        "gold.workout_bpm_summary": ("silver.workout_bpm", "silver.user_profile"),
    }


def test_flows_are_listed_after_those_they_wait_for_and_a_layer_run_alone_waits_for_none_outside_it(spark):
    config = load_config(spark, "dev")
    waits, seen = waits_for(pipeline.FLOWS, config), set()
    for flow in pipeline.FLOWS:  # the order the replay test and the docs walk the flows in
        assert set(waits[flow.name]) <= seen, flow.name
        seen.add(flow.name)
    silver = [flow for flow in pipeline.FLOWS if flow.layer == SILVER]
    alone = waits_for(silver, config)
    assert {name for names in alone.values() for name in names} <= {flow.name for flow in silver}
    assert alone["silver.users"] == () and alone["silver.workout_bpm"] == waits["silver.workout_bpm"]
