"""The local job runner (fitlake job run): graph order, parameters and references, run_if, task values,
retries, timeouts, condition tasks and refusals, on small notebooks written for each test."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

import pytest
from nbhelpers import write_notebook

from fitlake.config import ENVIRONMENTS
from fitlake.deployment.deploy import checkout_notebook
from fitlake.deployment.jobs import REVIEWED_JOBS
from fitlake.errors import ConfigError
from fitlake.governance import load_deployment
from fitlake.local import jobs
from fitlake.local.executor import NotebookRuntime
from fitlake.local.job_spec import RUN_IF, job_file, load_job
from fitlake.local.jobs import EXCLUDED, FAILED, SUCCESS, UPSTREAM_FAILED, JobRun, decide, plan_job
from fitlake.local.layout import repo_root
from fitlake.local.run_page import PAGE_FILE, RunPage

DEV = load_deployment("dev")


@pytest.fixture
def runtime(spark, layout) -> NotebookRuntime:
    return NotebookRuntime(spark, layout, echo=False)


def notebook_task(key: str, name: str, *deps: str | tuple[str, str], **extra) -> dict:
    """A notebook task on ``notebooks/<name>`` of the job's checkout; a dependency is a key or (key, outcome)."""
    task = {"task_key": key, "notebook_task": {"notebook_path": f"{DEV.workspace_folder}/notebooks/{name}"}}
    if deps:
        task["depends_on"] = [
            {"task_key": d} if isinstance(d, str) else {"task_key": d[0], "outcome": d[1]} for d in deps
        ]
    if "base_parameters" in extra:
        task["notebook_task"]["base_parameters"] = extra.pop("base_parameters")
    return {**task, **extra}


def write_job(checkout: Path, tasks: list[dict], **settings) -> Path:
    path = checkout / "job.json"
    path.write_text(json.dumps({"name": "test-job", **settings, "tasks": tasks}))
    return path


def load(path: Path, checkout: Path):
    return load_job(path, lambda workspace_path: checkout_notebook(workspace_path, DEV, checkout))


def run(runtime: NotebookRuntime, checkout: Path, tasks: list[dict], overrides=None, **settings):
    """Run the job; returns (result, the runner's lines, task key -> result)."""
    spec = load(write_job(checkout, tasks, **settings), checkout)
    lines: list[str] = []
    result = JobRun(plan_job(spec, overrides or {}, runtime.layout), runtime, say=lines.append).run()
    return result, lines, {task.key: task for task in result.tasks}


def nb(checkout: Path, name: str, *cells: str) -> Path:
    return write_notebook(checkout / "notebooks" / f"{name}.py", *cells)


def appends(log: Path, text: str) -> str:
    """A cell that appends ``text`` and a newline to ``log``."""
    return f"with open({str(log)!r}, 'a') as log:\n    log.write({text} + '\\n')"


# --- the graph ----------------------------------------------------------------------------------------------


def test_tasks_run_in_dependency_order_whatever_the_definition_order(runtime, tmp_path):
    log = tmp_path / "order.log"
    nb(tmp_path, "step", "dbutils.widgets.text('me', '')", appends(log, "dbutils.widgets.get('me')"))
    tasks = [
        notebook_task("d", "step", "b", "c", base_parameters={"me": "d"}),
        notebook_task("c", "step", "a", base_parameters={"me": "c"}),
        notebook_task("b", "step", "a", base_parameters={"me": "b"}),
        notebook_task("a", "step", base_parameters={"me": "a"}),
    ]
    result, lines, _ = run(runtime, tmp_path, tasks)
    assert result.state == SUCCESS and result.succeeded
    assert log.read_text().split() == ["a", "c", "b", "d"]  # among tasks ready together: definition order
    assert [line.split(":")[0] for line in lines if ": RUNNING" in line] == ["a", "c", "b", "d"]


@pytest.mark.parametrize(
    ("deps", "cycle"),
    [
        ({"a": ["b"], "b": ["a"]}, "a -> b -> a"),
        ({"a": ["a"]}, "a -> a"),
        ({"a": [], "b": ["c"], "c": ["b"]}, "b -> c -> b"),
    ],
)
def test_a_cycle_is_rejected_naming_it(tmp_path, deps, cycle):
    nb(tmp_path, "step", "x = 1")
    path = write_job(tmp_path, [notebook_task(key, "step", *after) for key, after in deps.items()])
    with pytest.raises(ConfigError, match=f"in a cycle: {cycle}"):
        load(path, tmp_path)


def test_an_unknown_dependency_and_a_duplicate_key_are_rejected(tmp_path):
    nb(tmp_path, "step", "x = 1")
    with pytest.raises(ConfigError, match="task b depends on 'nope', which is no task of the job"):
        load(write_job(tmp_path, [notebook_task("a", "step"), notebook_task("b", "step", "nope")]), tmp_path)
    with pytest.raises(ConfigError, match="two tasks have the key 'a'"):
        load(write_job(tmp_path, [notebook_task("a", "step"), notebook_task("a", "step")]), tmp_path)


# --- parameters and references -------------------------------------------------------------------------------

WIDGETS_AS_EXIT = (
    "dbutils.widgets.text('z', 'notebook-default')\n"
    "import json\n"
    "dbutils.notebook.exit(json.dumps({n: dbutils.widgets.get(n) for n in ('x', 'y', 'z')}))"
)


def test_job_parameters_win_over_task_parameters_and_p_over_job_defaults(runtime, tmp_path):
    nb(tmp_path, "show", WIDGETS_AS_EXIT)
    tasks = [notebook_task("t", "show", base_parameters={"x": "from-task", "y": "task-only"})]
    parameters = [{"name": "x", "default": "from-job"}]
    _, _, by_key = run(runtime, tmp_path, tasks, parameters=parameters)
    assert json.loads(by_key["t"].exit_value) == {"x": "from-job", "y": "task-only", "z": "notebook-default"}

    _, _, by_key = run(runtime, tmp_path, tasks, {"x": "from-p"}, parameters=parameters)
    assert json.loads(by_key["t"].exit_value)["x"] == "from-p"


def test_p_naming_no_job_parameter_is_refused(runtime, tmp_path):
    nb(tmp_path, "show", WIDGETS_AS_EXIT)
    spec = load(write_job(tmp_path, [notebook_task("t", "show")], parameters=[{"name": "x", "default": ""}]), tmp_path)
    with pytest.raises(ConfigError, match=r"has no parameter nope \(its parameters: x\)"):
        plan_job(spec, {"nope": "1"}, runtime.layout)


def test_an_environment_other_than_the_sessions_is_refused_before_anything_runs(runtime, tmp_path):
    marker = tmp_path / "ran"
    nb(tmp_path, "mark", f"open({str(marker)!r}, 'w').close()")
    spec = load(
        write_job(tmp_path, [notebook_task("t", "mark")], parameters=[{"name": "environment", "default": "qa"}]),
        tmp_path,
    )
    with pytest.raises(
        ConfigError, match="sets environment='qa', but this run serves --env dev; run the job with --env qa"
    ):
        plan_job(spec, {}, runtime.layout)
    assert not marker.exists()


def test_references_resolve_when_the_task_starts(runtime, tmp_path):
    nb(tmp_path, "setter", "dbutils.jobs.taskValues.set('n', 7)\ndbutils.jobs.taskValues.set('who', 'ana')")
    nb(tmp_path, "show", "import json\ndbutils.notebook.exit(json.dumps(dbutils.widgets.getAll()))")
    text = {
        "mix": "{{job.parameters.x}}/{{task.name}}/{{task.execution_count}}/{{ job.name }}",
        "ids": "{{job.run_id}} {{task.run_id}} {{job.id}}",
        "values": "{{tasks.setter.values.n}} {{tasks.setter.values.who}} {{tasks.setter.result_state}}",
        "quoted": "{{job.parameters.`my-param`}}",
        "date": "{{job.start_time.iso_date}}",
        "literal": "{{not_a.reference}} {{job.id}",
        "path": "{{task.notebook_path}}",
    }
    tasks = [notebook_task("setter", "setter"), notebook_task("reader", "show", "setter", base_parameters=text)]
    parameters = [{"name": "x", "default": "X"}, {"name": "my-param", "default": "dashed"}]
    result, _, by_key = run(runtime, tmp_path, tasks, parameters=parameters)
    seen = json.loads(by_key["reader"].exit_value)
    assert seen["mix"] == "X/reader/1/test-job"
    job_run, task_run, job_id = seen["ids"].split()
    assert int(job_run) == result.run_id and int(task_run) in by_key["reader"].run_ids and int(job_id) > 0
    assert seen["values"] == "7 ana success"
    assert seen["quoted"] == "dashed"
    started = datetime.fromtimestamp(result.run_id / 1000, timezone.utc)  # a local run id is its start, in ms
    assert seen["date"] == started.date().isoformat()
    assert (
        seen["literal"] == "{{not_a.reference}} {{job.id}"
    )  # no reference of a known namespace: kept, as on Databricks
    assert seen["path"] == f"{DEV.workspace_folder}/notebooks/show"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{job.naem}}", "is unknown: use job."),
        ("{{job.parameters.nope}}", "names no parameter of the job"),
        ("{{tasks.ghost.values.v}}", "names no task of the job"),
        ("{{tasks.later.values.v}}", "names task later, which is not upstream of this task"),
        ("{{tasks.first.value.v}}", "is unknown: use tasks.<key>.values.<name>"),
        ("{{task.nam}}", "is unknown: use task."),
        ("{{workspace.id}}", "names the Databricks workspace, which a local run does not have"),
        ("{{job.start_time.week}}", "is unknown: start_time takes iso_weekday"),
    ],
)
def test_an_unknown_reference_is_refused_before_anything_runs(tmp_path, text, problem):
    nb(tmp_path, "step", "x = 1")
    tasks = [
        notebook_task("first", "step"),
        notebook_task("middle", "step", "first", base_parameters={"p": text}),
        notebook_task("later", "step", "middle"),
    ]
    with pytest.raises(ConfigError, match=re.escape(f"task middle, p: {text} {problem}")):
        load(write_job(tmp_path, tasks), tmp_path)


def test_a_job_parameter_cannot_name_task_state(tmp_path):
    nb(tmp_path, "step", "x = 1")
    path = write_job(tmp_path, [notebook_task("t", "step")], parameters=[{"name": "p", "default": "{{task.name}}"}])
    with pytest.raises(ConfigError, match="job parameter p: {{task.name}} has no value in a job parameter"):
        load(path, tmp_path)


# --- run_if ---------------------------------------------------------------------------------------------------

# (run_if, dependency states) -> None (the task runs) or the state it gets; from Databricks' "Configure task
# dependencies": an excluded dependency counts as succeeded, all-excluded dependencies exclude the task.
DECISIONS = [
    ("ALL_SUCCESS", [SUCCESS, SUCCESS], None),
    ("ALL_SUCCESS", [SUCCESS, FAILED], UPSTREAM_FAILED),
    ("ALL_SUCCESS", [SUCCESS, EXCLUDED], None),
    ("ALL_SUCCESS", [UPSTREAM_FAILED], UPSTREAM_FAILED),
    ("AT_LEAST_ONE_SUCCESS", [SUCCESS, FAILED], None),
    ("AT_LEAST_ONE_SUCCESS", [FAILED, UPSTREAM_FAILED], UPSTREAM_FAILED),
    ("AT_LEAST_ONE_SUCCESS", [EXCLUDED, FAILED], UPSTREAM_FAILED),
    ("NONE_FAILED", [SUCCESS, EXCLUDED], None),
    ("NONE_FAILED", [SUCCESS, FAILED], UPSTREAM_FAILED),
    ("ALL_DONE", [FAILED, UPSTREAM_FAILED], None),
    ("ALL_DONE", [EXCLUDED, EXCLUDED], EXCLUDED),
    ("AT_LEAST_ONE_FAILED", [SUCCESS, FAILED], None),
    ("AT_LEAST_ONE_FAILED", [SUCCESS, UPSTREAM_FAILED], None),
    ("AT_LEAST_ONE_FAILED", [SUCCESS, SUCCESS], EXCLUDED),
    ("ALL_FAILED", [FAILED, "TIMEDOUT"], None),
    ("ALL_FAILED", [FAILED, SUCCESS], EXCLUDED),
    ("ALL_FAILED", [FAILED, EXCLUDED], EXCLUDED),
]


@pytest.mark.parametrize(("run_if", "states", "expected"), DECISIONS)
def test_run_if_decides_as_databricks_does(run_if, states, expected):
    assert decide(run_if, states) == expected


def test_every_run_if_is_covered():
    assert {run_if for run_if, _, _ in DECISIONS} == set(RUN_IF)
    assert decide("ALL_FAILED", []) is None  # a task with no dependency just runs


def test_run_if_end_to_end_with_a_failing_and_a_succeeding_dependency(runtime, tmp_path):
    nb(tmp_path, "ok", "x = 1")
    nb(tmp_path, "bad", "x = 1", "raise ValueError('boom')")
    tasks = [notebook_task("ok", "ok"), notebook_task("bad", "bad")]
    tasks += [notebook_task(run_if.lower(), "ok", "ok", "bad", run_if=run_if) for run_if in RUN_IF]
    tasks += [
        notebook_task("after_skipped", "ok", "all_success"),
        notebook_task("cleanup", "ok", "all_success", run_if="ALL_DONE"),
        notebook_task("after_excluded", "ok", "all_failed"),
    ]
    result, lines, by_key = run(runtime, tmp_path, tasks)
    states = {key: task.state for key, task in by_key.items()}
    assert states == {
        "ok": SUCCESS,
        "bad": FAILED,
        "all_success": UPSTREAM_FAILED,
        "at_least_one_success": SUCCESS,
        "none_failed": UPSTREAM_FAILED,
        "all_done": SUCCESS,
        "at_least_one_failed": SUCCESS,
        "all_failed": EXCLUDED,
        "after_skipped": UPSTREAM_FAILED,
        "cleanup": SUCCESS,
        "after_excluded": EXCLUDED,
    }
    assert result.state == FAILED  # leaves none_failed and after_skipped did not succeed
    assert "all_success: UPSTREAM_FAILED (run_if ALL_SUCCESS does not hold: ok SUCCESS, bad FAILED)" in lines


def test_a_failure_with_every_leaf_succeeding_is_success_with_failures_and_not_success(runtime, tmp_path):
    nb(tmp_path, "ok", "x = 1")
    nb(tmp_path, "bad", "raise ValueError('boom')")
    result, _, _ = run(
        runtime, tmp_path, [notebook_task("bad", "bad"), notebook_task("report", "ok", "bad", run_if="ALL_DONE")]
    )
    assert result.state == jobs.SUCCESS_WITH_FAILURES
    assert not result.succeeded  # fitlake job run exits 1: only SUCCESS is success (as deploy's check of a run)


def test_a_failed_task_reports_its_notebook_cell_and_traceback(runtime, tmp_path):
    path = nb(tmp_path, "bad", "x = 1", "def f():\n    raise ValueError('bad input')\n\nf()")
    result, _, by_key = run(runtime, tmp_path, [notebook_task("broken", "bad")])
    assert by_key["broken"].failure.cell == 2
    report = jobs.failures(result)
    assert f"Task broken FAILED after 1 attempt(s): {path}, cell 2" in report
    assert "ValueError: bad input" in report and "in f" in report
    table = jobs.summary(result)
    assert "| broken | FAILED" in table and f"{path}, cell 2 failed"[:37] in table


# --- task values ----------------------------------------------------------------------------------------------


def test_task_values_pass_between_tasks(runtime, tmp_path):
    nb(
        tmp_path,
        "setter",
        "dbutils.jobs.taskValues.set('rows', 12)\ndbutils.jobs.taskValues.set(key='meta', value={'a': [1, 2]})",
    )
    nb(
        tmp_path,
        "getter",
        "import json\n"
        "tv = dbutils.jobs.taskValues\n"
        "dbutils.notebook.exit(json.dumps([tv.get('setter', 'rows'), tv.get(taskKey='setter', key='meta'),"
        " tv.get('setter', 'missing', default='fallback'), tv.get('setter', 'rows', debugValue=0)]))",
    )
    _, _, by_key = run(
        runtime, tmp_path, [notebook_task("setter", "setter"), notebook_task("getter", "getter", "setter")]
    )
    assert json.loads(by_key["getter"].exit_value) == [12, {"a": [1, 2]}, "fallback", 12]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            "dbutils.jobs.taskValues.get('setter', 'missing')",
            "ValueError: Task values: task 'setter' set no value 'missing'",
        ),
        ("dbutils.jobs.taskValues.get('ghost', 'rows')", "ValueError: Task values: the job has no task 'ghost'"),
        ("dbutils.jobs.taskValues.set('big', 'x' * 50000)", "ValueError: Task value 'big' is 50002 bytes as JSON"),
        ("dbutils.jobs.taskValues.set('odd', object())", "TypeError: Task value 'odd' must be representable as JSON"),
    ],
)
def test_task_value_misuse_fails_the_task(runtime, tmp_path, call, error):
    nb(tmp_path, "setter", "dbutils.jobs.taskValues.set('rows', 12)")
    nb(tmp_path, "getter", call)
    result, _, _ = run(
        runtime, tmp_path, [notebook_task("setter", "setter"), notebook_task("getter", "getter", "setter")]
    )
    assert error in jobs.failures(result)


def test_outside_a_job_get_returns_the_debug_value_and_set_does_nothing(runtime, tmp_path):
    path = nb(
        tmp_path,
        "alone",
        "dbutils.jobs.taskValues.set('rows', 1)\n"
        "dbutils.notebook.exit(str(dbutils.jobs.taskValues.get('other', 'rows', default=5, debugValue=42)))",
    )
    assert runtime.run(path).exit_value == "42"
    without = nb(tmp_path, "nodebug", "dbutils.jobs.taskValues.get('other', 'rows', default=5)")
    with pytest.raises(
        Exception, match="TypeError: dbutils.jobs.taskValues.get\\('other', 'rows'\\) ran outside a job"
    ):
        runtime.run(without)


# --- retries and timeouts -------------------------------------------------------------------------------------


def flaky(checkout: Path, counter: Path, failures: int, name: str = "flaky") -> Path:
    """A notebook that fails its first ``failures`` runs (counted in ``counter``), then succeeds."""
    return nb(
        checkout,
        name,
        f"from pathlib import Path\nimport time\ncounter = Path({str(counter)!r})\n"
        "runs = int(counter.read_text()) + 1 if counter.exists() else 1\ncounter.write_text(str(runs))\n"
        f"with open({str(counter)!r} + '.starts', 'a') as log:\n    log.write(f'{{time.monotonic()}}\\n')",
        f"if runs <= {failures}:\n    raise RuntimeError(f'failing run {{runs}}')\ndbutils.notebook.exit(str(runs))",
    )


def test_a_failing_task_is_retried_until_it_succeeds(runtime, tmp_path):
    counter = tmp_path / "count"
    flaky(tmp_path, counter, failures=2)
    task = notebook_task("flaky", "flaky", max_retries=2, min_retry_interval_millis=600)
    result, lines, by_key = run(runtime, tmp_path, [task])
    assert result.state == SUCCESS
    assert (by_key["flaky"].state, by_key["flaky"].attempts, by_key["flaky"].exit_value) == (SUCCESS, 3, "3")
    starts = [float(line) for line in Path(f"{counter}.starts").read_text().split()]
    # The interval runs from one attempt's start to the next; the notebook stamps its first cell, a little
    # after its attempt started and by an amount that varies with the machine's load, so the stamps may be
    # a few milliseconds closer than the interval (CI once saw 0.299 s of 0.3): allow 0.1 s of that jitter.
    assert len(starts) == 3 and all(later - earlier >= 0.5 for earlier, later in pairwise(starts))
    assert "flaky: RUNNING flaky.py (attempt 3 of 3)" in [line.replace(f"{tmp_path}/notebooks/", "") for line in lines]
    assert len(set(by_key["flaky"].run_ids)) == 3


def test_retries_run_out_then_the_task_fails_and_dependants_are_skipped(runtime, tmp_path):
    flaky(tmp_path, tmp_path / "count", failures=5)
    nb(tmp_path, "ok", "x = 1")
    tasks = [notebook_task("flaky", "flaky", max_retries=1), notebook_task("next", "ok", "flaky")]
    result, _, by_key = run(runtime, tmp_path, tasks)
    assert (by_key["flaky"].state, by_key["flaky"].attempts) == (FAILED, 2)
    assert (by_key["next"].state, by_key["next"].attempts) == (UPSTREAM_FAILED, 0)
    assert result.state == FAILED
    assert "RuntimeError: failing run 2" in jobs.failures(result)


LOOPS_ON_FIRST_RUN = (
    "from pathlib import Path\nimport time\ncounter = Path({counter!r})\n"
    "runs = int(counter.read_text()) + 1 if counter.exists() else 1\ncounter.write_text(str(runs))\n"
    "while runs == 1 or {forever}:\n    time.sleep(0.05)\n"
    "dbutils.notebook.exit(str(runs))"
)


def test_a_task_past_its_timeout_is_timed_out_and_not_retried_by_default(runtime, tmp_path):
    nb(tmp_path, "slow", LOOPS_ON_FIRST_RUN.format(counter=str(tmp_path / "count"), forever=True))
    result, _, by_key = run(runtime, tmp_path, [notebook_task("slow", "slow", timeout_seconds=1, max_retries=3)])
    assert (by_key["slow"].state, by_key["slow"].attempts) == ("TIMEDOUT", 1)
    assert "did not finish within timeout_seconds=1" in by_key["slow"].message
    assert result.state == FAILED


def test_retry_on_timeout_retries_a_timed_out_task(runtime, tmp_path):
    nb(tmp_path, "slow", LOOPS_ON_FIRST_RUN.format(counter=str(tmp_path / "count"), forever=False))
    task = notebook_task("slow", "slow", timeout_seconds=1, max_retries=1, retry_on_timeout=True)
    result, _, by_key = run(runtime, tmp_path, [task])
    assert (by_key["slow"].state, by_key["slow"].attempts, by_key["slow"].exit_value) == (SUCCESS, 2, "2")
    assert result.succeeded


def test_the_jobs_timeout_stops_the_run_and_cancels_what_has_not_started(runtime, tmp_path):
    nb(tmp_path, "slow", LOOPS_ON_FIRST_RUN.format(counter=str(tmp_path / "count"), forever=True))
    nb(tmp_path, "ok", "x = 1")
    tasks = [
        notebook_task("slow", "slow", max_retries=2, retry_on_timeout=True),
        notebook_task("after", "ok", "slow", run_if="ALL_DONE"),
    ]
    result, _, by_key = run(runtime, tmp_path, tasks, timeout_seconds=1)
    assert result.state == "TIMEDOUT"
    assert (by_key["slow"].state, by_key["slow"].attempts) == ("TIMEDOUT", 1)  # no retry past the job's timeout
    assert by_key["after"].state == "CANCELED"


# --- the run page ---------------------------------------------------------------------------------------------


def test_the_jobs_page_has_a_row_per_task_linking_each_tasks_own_page(runtime, tmp_path):
    nb(tmp_path, "ok", "dbutils.widgets.text('who', '')", "dbutils.notebook.exit('hi ' + dbutils.widgets.get('who'))")
    nb(tmp_path, "bad", "raise ValueError('boom')")
    tasks = [
        notebook_task("greet", "ok", base_parameters={"who": "{{job.parameters.who}}"}),
        condition("check", "EQUAL_TO", "{{tasks.greet.result_state}}", "success", "greet"),
        notebook_task("fail", "bad", ("check", "true")),
        notebook_task("skipped", "ok", "fail"),
    ]
    result, _, _ = run(runtime, tmp_path, tasks, parameters=[{"name": "who", "default": "ann"}])
    folder = result.page.parent
    assert result.page.name == PAGE_FILE and folder.parent == runtime.layout.runs and folder.name.endswith("-test-job")
    page = RunPage.read(folder)
    assert (page.kind, page.name, page.state, page.parameters) == ("job", "test-job", FAILED, {"who": "ann"})
    rows = {row.name: row for row in page.rows}
    assert [row.name for row in page.rows] == ["greet", "check", "fail", "skipped"]
    assert [row.state for row in page.rows] == [SUCCESS, SUCCESS, FAILED, UPSTREAM_FAILED]
    assert rows["greet"].exit_value == "hi ann" and rows["check"].note.startswith("outcome true")
    assert "cell 1 failed" in rows["fail"].note and rows["skipped"].href is None
    assert rows["check"].href is None  # a condition task executes no notebook
    for key in ("greet", "fail"):
        task_page = RunPage.read(folder / key)
        assert (folder / rows[key].href) == folder / key / PAGE_FILE and (folder / rows[key].href).is_file()
        assert task_page.state == rows[key].state and (folder / key / task_page.up).resolve() == result.page
    assert "raise ValueError('boom')" in (folder / "fail" / "bad.html").read_text()


def test_a_retried_tasks_row_links_its_last_attempt_and_a_timeout_shows(runtime, tmp_path):
    flaky(tmp_path, tmp_path / "count", failures=1)
    nb(tmp_path, "slow", LOOPS_ON_FIRST_RUN.format(counter=str(tmp_path / "slow-count"), forever=True))
    tasks = [notebook_task("flaky", "flaky", max_retries=1), notebook_task("slow", "slow", timeout_seconds=1)]
    result, _, _ = run(runtime, tmp_path, tasks)
    page = RunPage.read(result.page.parent)
    flaky_row, slow_row = page.rows
    assert (flaky_row.state, flaky_row.href, flaky_row.note) == (SUCCESS, f"flaky-attempt2/{PAGE_FILE}", "2 attempts")
    assert RunPage.read(result.page.parent / "flaky").state == FAILED  # the first attempt's record stays
    assert (slow_row.state, RunPage.read(result.page.parent / "slow").state) == ("TIMEDOUT", "TIMEDOUT")
    assert page.state == FAILED


def test_the_jobs_page_redacts_a_secret_parameter_once_a_task_read_it(spark, layout, tmp_path):
    secret = "job-s3cr3t"
    runtime = NotebookRuntime(spark, layout, environ={"FITLAKE_SECRET__APP__TOKEN": secret}, echo=False)
    nb(tmp_path, "reads", "token = dbutils.secrets.get('app', 'token')", "dbutils.notebook.exit(f'used {token}')")
    result, _, _ = run(
        runtime, tmp_path, [notebook_task("reads", "reads")], parameters=[{"name": "token", "default": secret}]
    )
    folder = result.page.parent
    written = [path.read_text(encoding="utf-8") for path in folder.rglob("*") if path.is_file()]
    assert written and not [text for text in written if secret in text]
    assert RunPage.read(folder).parameters == {"token": "[REDACTED]"}
    assert RunPage.read(folder).rows[0].exit_value == "used [REDACTED]"


# --- condition tasks ------------------------------------------------------------------------------------------


def condition(key: str, op: str, left: str, right: str, *deps: str) -> dict:
    task = {"task_key": key, "condition_task": {"op": op, "left": left, "right": right}}
    return {**task, "depends_on": [{"task_key": d} for d in deps]} if deps else task


def test_a_condition_task_picks_the_branch_that_runs(runtime, tmp_path):
    nb(tmp_path, "count", "dbutils.jobs.taskValues.set('rows', 12)")
    nb(tmp_path, "ok", "x = 1")
    tasks = [
        notebook_task("count", "count"),
        condition(
            "enough", "GREATER_THAN_OR_EQUAL", "{{tasks.count.values.rows}}", "{{job.parameters.minimum}}", "count"
        ),
        notebook_task("process", "ok", ("enough", "true")),
        notebook_task("alert", "ok", ("enough", "false")),
        notebook_task("finally", "ok", "process", "alert"),
    ]
    result, _, by_key = run(runtime, tmp_path, tasks, parameters=[{"name": "minimum", "default": "12.0"}])
    assert (by_key["enough"].state, by_key["enough"].outcome) == (SUCCESS, "true")
    assert (by_key["process"].state, by_key["alert"].state) == (SUCCESS, EXCLUDED)
    assert by_key["finally"].state == SUCCESS  # an excluded dependency counts as succeeded
    assert result.state == SUCCESS

    _, _, by_key = run(runtime, tmp_path, tasks, {"minimum": "13"}, parameters=[{"name": "minimum", "default": "12"}])
    assert (by_key["enough"].outcome, by_key["process"].state, by_key["alert"].state) == ("false", EXCLUDED, SUCCESS)


def test_condition_operators_compare_strings_for_equality_and_numbers_for_order():
    assert not jobs.compare("EQUAL_TO", "12.0", "12") and jobs.compare("NOT_EQUAL", "12.0", "12")
    assert jobs.compare("GREATER_THAN_OR_EQUAL", "12.0", "12") and not jobs.compare(
        "GREATER_THAN_OR_EQUAL", "10.0", "12"
    )
    assert jobs.compare("LESS_THAN", "2", "10")  # numerically, not as strings


def test_an_ordering_of_non_numbers_fails_the_condition_task(runtime, tmp_path):
    result, _, by_key = run(runtime, tmp_path, [condition("c", "LESS_THAN", "abc", "3")])
    assert by_key["c"].state == FAILED and "not both numbers" in by_key["c"].message
    assert result.state == FAILED


def test_an_outcome_belongs_on_dependencies_on_a_condition_task(tmp_path):
    nb(tmp_path, "ok", "x = 1")
    bad = [notebook_task("a", "ok"), notebook_task("b", "ok", ("a", "true"))]
    with pytest.raises(ConfigError, match="needs an outcome"):
        load(write_job(tmp_path, bad), tmp_path)
    missing = [condition("c", "EQUAL_TO", "1", "1"), notebook_task("b", "ok", "c")]
    with pytest.raises(ConfigError, match="needs an outcome"):
        load(write_job(tmp_path, missing), tmp_path)


# --- refusals and definitions ---------------------------------------------------------------------------------


def test_task_types_that_cannot_run_here_are_refused_together_before_anything_runs(tmp_path):
    nb(tmp_path, "ok", "x = 1")
    tasks = [
        notebook_task("fine", "ok"),
        {"task_key": "jar", "depends_on": [{"task_key": "fine"}], "spark_jar_task": {"main_class_name": "a.B"}},
        {"task_key": "query", "sql_task": {"warehouse_id": "w", "query": {"query_id": "q"}}},
        {"task_key": "loop", "for_each_task": {"inputs": "[1]", "task": notebook_task("inner", "ok")}},
        {"task_key": "future", "shiny_new_task": {}},
    ]
    with pytest.raises(ConfigError) as refused:
        load(write_job(tmp_path, tasks), tmp_path)
    message = str(refused.value)
    assert "this job cannot run locally, so nothing of it has run" in message
    for line in (
        "task jar is a spark_jar_task: it runs a JAR's main class on a cluster",
        "task query is a sql_task: it runs on a Databricks SQL warehouse",
        "task loop is a for_each_task",
        "task future is a shiny_new_task: it needs a Databricks service",
    ):
        assert line in message


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"warehouse_id": "abc"}, "runs its notebook on a SQL warehouse"),
        ({"source": "GIT"}, "takes its notebook from the job's git_source"),
        ({"notebook_path": "/Users/someone/nb"}, "is not one that fitlake deploy imports for dev"),
        ({"notebook_path": f"{DEV.workspace_folder}/notebooks/missing"}, "neither exists"),
        ({"base_parameters": {"n": 3}}, "base_parameters must map names to strings"),
    ],
)
def test_notebook_tasks_that_cannot_run_here_are_refused(tmp_path, change, problem):
    nb(tmp_path, "ok", "x = 1")
    task = notebook_task("t", "ok")
    task["notebook_task"].update(change)
    with pytest.raises(ConfigError, match=problem):
        load(write_job(tmp_path, [task]), tmp_path)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"run_if": "SOMETIMES"}, "run_if 'SOMETIMES' is not one of ALL_SUCCESS"),
        ({"max_retries": -2}, "max_retries must be a whole number >= -1"),
        ({"timeout_seconds": "60"}, "timeout_seconds must be a whole number >= 0"),
        ({"retry_on_timeout": "yes"}, "retry_on_timeout must be true or false"),
        ({"disabled": True}, "is disabled"),
    ],
)
def test_task_settings_are_validated(tmp_path, change, problem):
    nb(tmp_path, "ok", "x = 1")
    with pytest.raises(ConfigError, match=problem):
        load(write_job(tmp_path, [{**notebook_task("t", "ok"), **change}]), tmp_path)


def test_workspace_paths_map_back_to_the_checkout_through_the_deployment_folder():
    repo = repo_root()
    assert (
        checkout_notebook(f"{DEV.workspace_folder}/notebooks/05_driver", DEV, repo)
        == repo / "notebooks" / "05_driver.py"
    )
    assert checkout_notebook(f"{DEV.workspace_folder}/setup/02_history_loader", DEV, repo).parent == repo / "setup"
    for outside in (
        f"{DEV.workspace_folder}/wheels/x",
        f"{DEV.workspace_folder}/notebooks/../setup/x",
        "/Workspace/other/notebooks/x",
    ):
        with pytest.raises(ConfigError, match="is not one that fitlake deploy imports"):
            checkout_notebook(outside, DEV, repo)


def test_a_job_is_named_from_pipelines_jobs_or_given_as_a_file(tmp_path):
    repo = repo_root()
    assert job_file("fitlake-dev-integration-test", repo) == repo / REVIEWED_JOBS / "fitlake-dev-integration-test.json"
    (tmp_path / "mine.json").write_text("{}")
    assert job_file(str(tmp_path / "mine.json"), repo) == tmp_path / "mine.json"
    with pytest.raises(ConfigError, match="No job named 'nope' in .*fitlake-dev-integration-test"):
        job_file("nope", repo)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_reviewed_job_loads_for_its_environment(environment):
    repo, deployment = repo_root(), load_deployment(environment)
    for path in sorted((repo / REVIEWED_JOBS).glob(f"fitlake-{environment}*.json")):
        spec = load_job(path, lambda workspace_path, d=deployment: checkout_notebook(workspace_path, d, repo))
        assert spec.tasks and all(task.work.notebook.is_file() for task in spec.tasks)
