"""The manifests: the expected state after a set as table row counts plus a few exact values.

``manifest_set<N>.json``::

    {"set": N, "sets_included": [1, ..., N], "spec": {...}, "age_as_of": "2026-01-01",
     "avg_bpm tolerance": 1e-9, "notes": {...},
     "tables": {"<schema>.<table>": row_count, ...},
     "values": [{"table": ..., "where": {column: value, ...}, "column": ..., "expected": ...,
                 "tolerance": 1e-9 (avg_bpm only)}, ...]}

The rules behind the numbers are in ``fitlake.sample.expected``; every silver and gold table's full rows lie
beside the manifest (``fitlake.sample.rows``).
"""

from __future__ import annotations

from dataclasses import asdict

from fitlake.sample.expected import Expected, expected_state
from fitlake.sample.model import Sample, Workout
from fitlake.sample.rows import utc_text

AVG_BPM_TOLERANCE = 1e-9
NOTES = {
    "count": "a value whose column is 'count' is the number of rows of the table matching 'where'",
    "timestamps": "login and logout values (in 'where' and 'expected') are UTC timestamps as 'yyyy-MM-dd HH:mm:ss'",
    "tolerance": "an entry with 'tolerance' matches when abs(actual - expected) <= tolerance; others exactly",
}


def build_manifest(sample: Sample, upto_set: int) -> dict:
    spec = sample.world.spec
    state = expected_state(sample, upto_set)
    return {
        "set": upto_set,
        "sets_included": list(range(1, upto_set + 1)),
        "spec": asdict(spec),
        "age_as_of": spec.age_as_of,
        "avg_bpm tolerance": AVG_BPM_TOLERANCE,
        "notes": NOTES,
        "tables": state.table_counts(),
        "values": _values(sample, state),
    }


def _values(sample: Sample, state: Expected) -> list[dict]:
    world = sample.world
    values = []

    def add(table: str, where: dict, column: str, expected: object, tolerance: float | None = None) -> None:
        entry = {"table": table, "where": where, "column": column, "expected": expected}
        if tolerance is not None:
            entry["tolerance"] = tolerance
        values.append(entry)

    def of_user(role: str) -> dict:
        return {"user_id": world.roles[role]}

    def of_workout(workout: Workout) -> dict:
        return {"user_id": workout.user_id, "workout_id": workout.workout_id, "session_id": workout.session_id}

    re_registered = world.roles["re_registered_new_device"]
    add("silver.users", of_user("re_registered_new_device"), "device_id", state.users[re_registered].device_id)
    moved = world.roles["out_of_order_update_next_set"]
    add(
        "silver.user_profile",
        of_user("out_of_order_update_next_set"),
        "city",
        state.profiles[moved].profile.address.city,
    )
    for role in ("deleted_with_stale_update", "deleted_in_next_set"):
        add("silver.user_profile", of_user(role), "count", int(world.roles[role] in state.profiles))
    for role in ("age_exactly_25", "age_17"):
        add("silver.user_bins", of_user(role), "age", state.age_bins[world.roles[role]])
    visit = world.visit("relogout_next_set")
    logout = state.gym_logs[(visit.mac_address, visit.gym, visit.login)]
    where = {"mac_address": visit.mac_address, "gym": visit.gym, "login": utc_text(visit.login)}
    add("silver.gym_logs", where, "logout", utc_text(logout))
    reverse = world.visit("relogout_reverse_order")  # the smaller logout lands last and must not win
    key = (reverse.mac_address, reverse.gym, reverse.login)
    if key in state.gym_logs:
        where = {"mac_address": reverse.mac_address, "gym": reverse.gym, "login": utc_text(reverse.login)}
        add("silver.gym_logs", where, "logout", utc_text(state.gym_logs[key]))
    stop_late = world.workout("stop_in_next_set")
    add("silver.completed_workouts", of_workout(stop_late), "count", int(stop_late.key in state.completed))
    exact, relogged = world.workout("exactly_65_min"), world.workout("in_relogout_next_set")
    for workout, column in ((exact, "minutes_exercising"), (relogged, "minutes_in_gym")):
        (row,) = state.gym_summary[workout.key]
        # gym_summary carries the visit's mac_address, not user_id; session_id alone is unique already.
        where = {"mac_address": row.mac_address, "workout_id": workout.workout_id, "session_id": workout.session_id}
        add("gold.gym_summary", where, column, getattr(row, column))
    for workout in (exact, world.workout("late_readings")):
        summary = state.bpm_summary[workout.key]
        for column, expected in asdict(summary).items():
            add("gold.workout_bpm_summary", of_workout(workout), column, expected, _tolerance(column))
    return values


def _tolerance(column: str) -> float | None:
    return AVG_BPM_TOLERANCE if column == "avg_bpm" else None
