"""The local notebook executor: cells, magics, %run, dbutils.notebook, errors, secrets, run records."""

from __future__ import annotations

import base64
import json
import threading
import traceback

import nbformat
import pytest
from nbhelpers import magic, repo_notebooks, write_notebook
from waiting import join, wait_for

from fitlake.config import ENVIRONMENT_WIDGET, ENVIRONMENTS
from fitlake.errors import ConfigError, FitlakeError, NotebookCellError, NotebookTimeoutError
from fitlake.local.executor import NotebookRuntime, resolve_notebook
from fitlake.local.layout import repo_root
from fitlake.local.run_page import RunPage
from fitlake.local.source import parse_notebook_file


@pytest.fixture
def runtime(spark, layout) -> NotebookRuntime:
    environ = {"FITLAKE_SECRET__KAFKA__PASSWORD": "s3cr3t-value"}
    return NotebookRuntime(spark, layout, environ=environ, echo=False)


def recorded(result, stem: str) -> nbformat.NotebookNode:
    return nbformat.read(result.record_folder / f"{stem}.ipynb", as_version=4)


def all_text(nb: nbformat.NotebookNode) -> str:
    """Every output of every cell as one string (stream text, display data, errors)."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for v in output.get("data", {}).values())
            parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def test_python_cells_share_one_namespace_and_see_databricks_globals(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        "x = 41",
        "x += 1\nprint(type(spark).__name__, type(dbutils).__name__, callable(display), callable(displayHTML))",
        "dbutils.notebook.exit(str(x))",
    )
    result = runtime.run(nb)
    assert result.exit_value == "42"
    assert "SparkSession LocalDbutils True True" in all_text(recorded(result, "nb"))


def test_sql_cell_runs_each_statement_and_displays_the_query(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        magic(
            "%sql\n"
            "CREATE OR REPLACE TEMP VIEW v AS SELECT 1 AS a; -- a comment; with a semicolon\n"
            "SELECT a + 1 AS b FROM v"
        ),
        "dbutils.notebook.exit(str(_sqldf.first().b))",
    )
    result = runtime.run(nb)
    assert result.exit_value == "2"
    html = recorded(result, "nb").cells[0].outputs[0].data["text/html"]
    assert "<th>b</th>" in html and "<td>2</td>" in html


def test_sql_notebook_runs_sql_cells_and_python_magic(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.sql",
        "SELECT 'from sql' AS origin",
        magic("%python\ndbutils.notebook.exit(_sqldf.first().origin)", language="sql"),
        language="sql",
    )
    assert runtime.run(nb).exit_value == "from sql"


def test_markdown_is_kept_and_not_executed(runtime, tmp_path):
    nb = write_notebook(tmp_path / "nb.py", magic("%md\n# Title\nraise SystemExit"), "print('after md')")
    result = runtime.run(nb)
    cells = recorded(result, "nb").cells
    assert cells[0].cell_type == "markdown" and cells[0].source == "# Title\nraise SystemExit"
    assert "after md" in all_text(recorded(result, "nb"))


def test_pip_magic_is_a_noop_with_a_note(runtime, tmp_path):
    nb = write_notebook(tmp_path / "nb.py", magic("%pip install requests"))
    assert "no-op locally" in all_text(recorded(runtime.run(nb), "nb"))


@pytest.mark.parametrize("magic_name", ["%sh", "%scala", "%fs", "%r"])
def test_unsupported_magic_fails_naming_it(runtime, tmp_path, magic_name):
    nb = write_notebook(tmp_path / "nb.py", "x = 1", magic(f"{magic_name} ls"))
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(nb)
    assert failure.value.cell == 2
    assert magic_name in str(failure.value)


def test_last_expression_of_a_cell_is_displayed(runtime, tmp_path):
    nb = write_notebook(tmp_path / "nb.py", "6 * 7")
    assert "42" in all_text(recorded(runtime.run(nb), "nb"))


def test_run_magic_shares_the_callers_namespace_both_ways(runtime, tmp_path):
    write_notebook(tmp_path / "lib" / "config.py", "from_child = parent_value * 2")
    nb = write_notebook(
        tmp_path / "main" / "nb.py",
        "parent_value = 21",
        magic("%run ../lib/config"),
        "dbutils.notebook.exit(str(from_child))",
    )
    assert runtime.run(nb).exit_value == "42"


def test_run_magic_resolves_relative_to_the_including_notebook(runtime, tmp_path):
    write_notebook(tmp_path / "a" / "b" / "leaf.py", "where = 'leaf'")
    write_notebook(tmp_path / "a" / "middle.py", magic("%run ./b/leaf"))
    nb = write_notebook(tmp_path / "top.py", magic("%run ./a/middle"), "dbutils.notebook.exit(where)")
    assert runtime.run(nb).exit_value == "leaf"


def test_run_magic_passes_widget_arguments(runtime, tmp_path):
    write_notebook(tmp_path / "child.py", "dbutils.widgets.text('who', 'nobody')\nwho = dbutils.widgets.get('who')")
    nb = write_notebook(tmp_path / "nb.py", magic('%run ./child $who="analyst"'), "dbutils.notebook.exit(who)")
    assert runtime.run(nb).exit_value == "analyst"


@pytest.mark.parametrize(
    ("reference", "message"),
    [("./child.py", "no extension"), ("./missing", "not found"), ("/Workspace/Users/x/child", "absolute")],
)
def test_run_magic_follows_databricks_path_rules(runtime, tmp_path, reference, message):
    write_notebook(tmp_path / "child.py", "x = 1")
    nb = write_notebook(tmp_path / "nb.py", magic(f"%run {reference}"))
    with pytest.raises(NotebookCellError, match=message):
        runtime.run(nb)


def test_widget_values_passed_by_the_caller_override_defaults(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        "dbutils.widgets.dropdown('mode', 'batch', ['batch', 'continuous'])\n"
        "dbutils.notebook.exit(dbutils.widgets.get('mode'))",
    )
    assert runtime.run(nb).exit_value == "batch"
    assert runtime.run(nb, {"mode": "continuous"}).exit_value == "continuous"
    with pytest.raises(NotebookCellError, match="not one of"):
        runtime.run(nb, {"mode": "sometimes"})


def test_notebook_run_returns_the_childs_exit_value_and_passes_arguments(runtime, tmp_path):
    write_notebook(
        tmp_path / "child.py",
        "dbutils.widgets.text('n', '1')",
        "dbutils.notebook.exit(str(int(dbutils.widgets.get('n')) * 10))",
    )
    nb = write_notebook(tmp_path / "nb.py", "dbutils.notebook.exit(dbutils.notebook.run('./child', 60, {'n': 7}))")
    assert runtime.run(nb).exit_value == "70"


def test_notebook_run_isolates_namespaces_and_widgets(runtime, tmp_path):
    write_notebook(
        tmp_path / "child.py",
        "dbutils.widgets.text('w', 'child-default')\n"
        "child_only = 1\n"
        "dbutils.notebook.exit(json.dumps([('secret_of_parent' in globals()), dbutils.widgets.get('w')]))".replace(
            "json.dumps", "__import__('json').dumps"
        ),
    )
    nb = write_notebook(
        tmp_path / "nb.py",
        "dbutils.widgets.text('w', 'parent-value')\nsecret_of_parent = 1",
        "seen = dbutils.notebook.run('./child', 60)",
        "dbutils.notebook.exit(json.dumps([seen, 'child_only' in globals(), dbutils.widgets.get('w')]))".replace(
            "json.dumps", "__import__('json').dumps"
        ),
    )
    seen, leaked, parent_widget = json.loads(runtime.run(nb).exit_value)
    assert json.loads(seen) == [False, "child-default"]
    assert leaked is False
    assert parent_widget == "parent-value"


def test_notebook_run_without_exit_returns_empty_string(runtime, tmp_path):
    write_notebook(tmp_path / "child.py", "x = 1")
    nb = write_notebook(tmp_path / "nb.py", "dbutils.notebook.exit(repr(dbutils.notebook.run('./child', 0)))")
    assert runtime.run(nb).exit_value == "''"


def test_notebook_run_fails_when_the_timeout_passes(runtime, tmp_path):
    write_notebook(tmp_path / "slow.py", "import time\nwhile True:\n    time.sleep(0.05)")
    nb = write_notebook(tmp_path / "nb.py", "dbutils.notebook.run('./slow', 1)")
    outcome: dict = {}

    def run() -> None:
        try:
            runtime.run(nb)
        except BaseException as error:  # noqa: BLE001 - checked below
            outcome["error"] = error

    caller = threading.Thread(target=run, daemon=True)
    caller.start()
    # The child loops forever, so the call returning at all shows that the caller did not wait for it to end.
    join(caller, "runtime.run of a notebook whose dbutils.notebook.run child never ends")
    failure = outcome.get("error")
    assert isinstance(failure, NotebookCellError), failure
    assert isinstance(failure.cause, NotebookTimeoutError)
    assert "timeout_seconds=1" in str(failure)
    # "its run was cancelled": the child's thread ends too, rather than looping on in the background.
    wait_for(lambda: "notebook:slow" not in {t.name for t in threading.enumerate()}, "the cancelled child's end")


def test_a_failing_child_fails_the_notebook_run_call(runtime, tmp_path):
    write_notebook(tmp_path / "bad.py", "raise ValueError('child broke')")
    nb = write_notebook(tmp_path / "nb.py", "dbutils.notebook.run('./bad', 60)")
    with pytest.raises(NotebookCellError, match="child broke"):
        runtime.run(nb)


def test_exit_ends_the_notebook_early(runtime, tmp_path):
    nb = write_notebook(tmp_path / "nb.py", "dbutils.notebook.exit('early')", "raise AssertionError('must not run')")
    assert runtime.run(nb).exit_value == "early"


def test_exit_is_not_swallowed_by_a_broad_except(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        "try:\n    dbutils.notebook.exit('out')\nexcept Exception:\n    pass",
        "raise AssertionError('must not run')",
    )
    assert runtime.run(nb).exit_value == "out"


def test_failing_cell_reports_notebook_path_cell_number_and_traceback(runtime, tmp_path):
    nb = write_notebook(tmp_path / "nb.py", "x = 1", "\n\ndef f():\n    return 1 / 0\n\nf()")
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(nb)
    error = failure.value
    assert error.notebook == str(nb) and error.cell == 2
    assert "ZeroDivisionError" in error.traceback_text
    # Line numbers are the notebook file's own: `return 1 / 0` is on line 9 of the file.
    assert f'File "{nb}", line 9, in f' in error.traceback_text
    assert "executor.py" not in error.traceback_text


def test_failure_inside_a_run_include_names_the_included_notebook(runtime, tmp_path):
    write_notebook(tmp_path / "inc.py", "x = 1", "raise KeyError('deep')")
    nb = write_notebook(tmp_path / "nb.py", magic("%run ./inc"))
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(nb)
    assert failure.value.notebook == str(tmp_path / "inc.py") and failure.value.cell == 2


def test_secrets_are_read_from_the_environment_and_redacted_in_outputs(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        "password = dbutils.secrets.get('kafka', 'password')\nprint('password is', password)",
        "display(spark.createDataFrame([(password,)], 'p STRING'))",
        "raise ValueError(f'bad {password}')",
    )
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(nb)
    assert "s3cr3t-value" not in str(failure.value)
    record = sorted(runtime.layout.runs.glob("*-nb"))[-1] / "nb.ipynb"
    text = all_text(nbformat.read(record, as_version=4))
    assert "s3cr3t-value" not in text
    assert text.count("[REDACTED]") >= 3


def test_a_missing_secret_is_a_clear_error(runtime, tmp_path):
    nb = write_notebook(tmp_path / "nb.py", "dbutils.secrets.get('kafka', 'nothing')")
    with pytest.raises(NotebookCellError, match="FITLAKE_SECRET__KAFKA__NOTHING"):
        runtime.run(nb)


def test_dbutils_fs_maps_dbfs_under_the_data_root(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        "dbutils.fs.put('dbfs:/fitlake/test/hello.txt', 'hi', True)\n"
        "dbutils.notebook.exit(dbutils.fs.head('/fitlake/test/hello.txt'))",
    )
    assert runtime.run(nb).exit_value == "hi"
    assert (runtime.layout.dbfs / "fitlake" / "test" / "hello.txt").read_text() == "hi"


def test_display_of_a_streaming_dataframe_is_a_clear_error(runtime, tmp_path):
    nb = write_notebook(tmp_path / "nb.py", "display(spark.readStream.format('rate').load())")
    with pytest.raises(NotebookCellError, match="streaming DataFrame"):
        runtime.run(nb)


def test_run_record_holds_parent_and_child_with_outputs_as_ipynb_and_html(runtime, tmp_path):
    write_notebook(tmp_path / "child.py", "print('child says hi')", "dbutils.notebook.exit('done')")
    nb = write_notebook(
        tmp_path / "parent.py",
        magic("%md\n# Parent"),
        "display(spark.range(3).toDF('n'))\nvalue = dbutils.notebook.run('./child', 60)",
        "displayHTML('<b>bold move</b>')",
    )
    result = runtime.run(nb)
    names = sorted(p.name for p in result.record_folder.iterdir())
    assert names == ["01-child.html", "01-child.ipynb", "index.html", "parent.html", "parent.ipynb", "run.json"]
    assert result.record_folder.parent == runtime.layout.runs
    parent = recorded(result, "parent")
    assert parent.metadata.fitlake.status == "SUCCESS"
    assert "<td>2</td>" in all_text(parent) and "<b>bold move</b>" in all_text(parent)
    assert "child says hi" in all_text(recorded(result, "01-child"))
    html = (result.record_folder / "parent.html").read_text()
    assert "bold move" in html and "Parent" in html


def test_run_record_is_written_for_a_failed_run(runtime, tmp_path):
    nb = write_notebook(tmp_path / "broken.py", "print('before')", "raise RuntimeError('boom')")
    with pytest.raises(NotebookCellError):
        runtime.run(nb)
    record = sorted(runtime.layout.runs.glob("*-broken"))[-1]
    nb_json = nbformat.read(record / "broken.ipynb", as_version=4)
    assert nb_json.metadata.fitlake.status == "FAILED"
    error = nb_json.cells[1].outputs[-1]
    assert error.output_type == "error" and error.ename == "RuntimeError"
    assert (record / "broken.html").is_file()


def test_the_run_page_has_the_notebook_then_each_child_with_state_exit_value_and_link(runtime, tmp_path, capsys):
    write_notebook(
        tmp_path / "child.py", "dbutils.widgets.text('n', '')", "dbutils.notebook.exit('got ' + getArgument('n'))"
    )
    write_notebook(tmp_path / "bad.py", "raise ValueError('child boom')")
    nb = write_notebook(
        tmp_path / "parent.py",
        "dbutils.widgets.text('mode', '')\nfirst = dbutils.notebook.run('./child', 60, {'n': '1'})",
        "try:\n    dbutils.notebook.run('./bad', 60)\nexcept Exception:\n    pass",
        "dbutils.notebook.exit(first)",
    )
    result = runtime.run(nb, {"mode": "batch"})
    page = RunPage.read(result.record_folder)
    assert (page.kind, page.name, page.state, page.parameters) == ("notebook", "parent", "SUCCESS", {"mode": "batch"})
    assert page.seconds is not None and page.up is None
    rows = [(row.name, row.state, row.exit_value, row.href) for row in page.rows]
    assert rows == [
        ("parent", "SUCCESS", "got 1", "parent.html"),
        ("01-child", "SUCCESS", "got 1", "01-child.html"),
        ("02-bad", "FAILED", None, "02-bad.html"),
    ]
    assert all((result.record_folder / row.href).is_file() for row in page.rows)
    assert f"Run page: {result.record_folder / 'index.html'}" in capsys.readouterr().out


def test_a_failed_or_timed_out_run_says_so_on_its_page(runtime, tmp_path):
    broken = write_notebook(tmp_path / "broken.py", "raise RuntimeError('boom')")
    with pytest.raises(NotebookCellError):
        runtime.run(broken)
    page = RunPage.read(sorted(runtime.layout.runs.glob("*-broken"))[-1])
    assert (page.state, [row.state for row in page.rows]) == ("FAILED", ["FAILED"])
    slow = write_notebook(tmp_path / "slow.py", "import time\nwhile True:\n    time.sleep(0.05)")
    with pytest.raises(NotebookTimeoutError):
        runtime.run(slow, timeout_seconds=1)
    page = RunPage.read(sorted(runtime.layout.runs.glob("*-slow"))[-1])
    assert (page.state, [row.state for row in page.rows]) == ("TIMEDOUT", ["TIMEDOUT"])


def test_a_missing_notebook_is_a_clear_error(runtime, tmp_path):
    with pytest.raises(FitlakeError, match="does not exist"):
        runtime.run(tmp_path / "nope.py")


SECRET = "s3cr3t-value"
READ_SECRET = "password = dbutils.secrets.get('kafka', 'password')"


def every_record_file(result) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(result.record_folder.iterdir()))


def test_an_exit_value_holding_a_secret_is_redacted_in_the_result_and_the_cli(runtime, tmp_path, monkeypatch, capsys):
    from fitlake import cli

    nb = write_notebook(tmp_path / "nb.py", READ_SECRET, "dbutils.notebook.exit(f'token={password}')")
    monkeypatch.setattr(cli, "_runtime", lambda args, params=None: runtime)
    assert cli.main(["notebook", str(nb)]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out and "Exit value: token=[REDACTED]" in out
    assert runtime.run(nb).exit_value == "token=[REDACTED]"


def test_the_run_record_redacts_a_childs_arguments_and_exit_values(runtime, tmp_path):
    write_notebook(
        tmp_path / "child.py",
        "dbutils.widgets.text('pw', '')",
        "dbutils.notebook.exit(dbutils.widgets.get('pw'))",
    )
    nb = write_notebook(
        tmp_path / "parent.py",
        READ_SECRET,
        "value = dbutils.notebook.run('./child', 60, {'pw': password})\nassert value == password",
        "dbutils.notebook.exit(value)",
    )
    result = runtime.run(nb, {"pw": SECRET})  # a parameter that is a secret too: redacted once the run read it
    assert SECRET not in every_record_file(result)
    page = RunPage.read(result.record_folder)
    assert page.parameters == {"pw": "[REDACTED]"} and [row.exit_value for row in page.rows] == ["[REDACTED]"] * 2
    child = recorded(result, "01-child").metadata.fitlake
    assert (child.arguments, child.exit_value) == ({"pw": "[REDACTED]"}, "[REDACTED]")
    assert recorded(result, "parent").metadata.fitlake.exit_value == "[REDACTED]"


def test_no_exception_in_a_failed_cells_chain_holds_the_secret(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        READ_SECRET,
        "try:\n    {}[password]\nexcept KeyError as missing:\n    raise ValueError(f'no {password}') from missing",
    )
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(nb)
    chain, error = [], failure.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert len(chain) >= 2 and failure.value.cause is chain[1]
    assert all(SECRET not in f"{e!s} {e!r}" for e in chain)
    assert SECRET not in "".join(traceback.format_exception(failure.value))
    assert "ValueError" in str(failure.value.cause) and "[REDACTED]" in str(failure.value.cause)


def test_a_failing_child_notebooks_error_chain_holds_no_secret(runtime, tmp_path):
    write_notebook(tmp_path / "bad.py", READ_SECRET, "raise RuntimeError(password)")
    nb = write_notebook(tmp_path / "nb.py", "dbutils.notebook.run('./bad', 60)")
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(nb)
    assert SECRET not in "".join(traceback.format_exception(failure.value))


def test_the_runtimes_dbutils_fs_is_confined_to_the_data_root(runtime, tmp_path):
    from fitlake.sample.generator import shipped_sets_dir

    nb = write_notebook(tmp_path / "nb.py", "dbutils.fs.rm('dbfs:/', True)")
    with pytest.raises(NotebookCellError, match="it is a root"):
        runtime.run(nb)
    nb = write_notebook(tmp_path / "nb.py", f"dbutils.fs.put('file:{tmp_path}/x.txt', 'x')")
    with pytest.raises(NotebookCellError, match="outside what dbutils.fs may change"):
        runtime.run(nb)
    # The producer's source: the shipped sample sets are readable.
    listing = f"len(dbutils.fs.ls('file:{shipped_sets_dir()}'))"
    nb = write_notebook(tmp_path / "nb.py", f"dbutils.notebook.exit(str({listing}))")
    assert int(runtime.run(nb).exit_value) > 0


# The environment widget must name the session's environment (locally one session serves one)


def _declare_environment(default: str) -> str:
    return f"dbutils.widgets.dropdown({ENVIRONMENT_WIDGET!r}, {default!r}, {list(ENVIRONMENTS)!r})"


def _other_environment(layout) -> str:  # noqa: ANN001 - the layout fixture
    return next(env for env in ENVIRONMENTS if env != layout.env)


def _assert_mismatch(error: NotebookCellError, widget: str, session: str) -> None:
    assert isinstance(error.cause, ConfigError)
    assert f"widget is {widget!r}, but this local session serves {session!r}" in error.traceback_text
    assert f"use --env {widget}" in error.traceback_text


def test_a_notebook_reading_the_sessions_environment_runs(runtime, layout, tmp_path):
    nb = write_notebook(
        tmp_path / "nb.py",
        _declare_environment(_other_environment(layout)),
        f"dbutils.notebook.exit(dbutils.widgets.get({ENVIRONMENT_WIDGET!r}))",
    )
    assert runtime.run(nb, {ENVIRONMENT_WIDGET: layout.env}).exit_value == layout.env


def test_another_environment_fails_where_the_widget_is_read_before_any_table_is_touched(
    runtime, spark, layout, tmp_path
):
    other = _other_environment(layout)
    probe = "default.environment_mismatch_probe"
    nb = write_notebook(
        tmp_path / "nb.py",
        _declare_environment(layout.env),
        f"environment = dbutils.widgets.get({ENVIRONMENT_WIDGET!r})",
        f"spark.sql('CREATE TABLE {probe} (x INT) USING DELTA')",
    )
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(nb, {ENVIRONMENT_WIDGET: other})
    assert failure.value.cell == 2
    _assert_mismatch(failure.value, other, layout.env)
    assert not spark.catalog.tableExists(probe)


def test_a_default_naming_another_environment_fails_too(runtime, layout, tmp_path):
    other = _other_environment(layout)
    nb = write_notebook(tmp_path / "nb.py", _declare_environment(other), "dbutils.widgets.getAll()")
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(nb)
    _assert_mismatch(failure.value, other, layout.env)


def test_children_and_includes_are_held_to_the_sessions_environment(runtime, layout, tmp_path):
    other = _other_environment(layout)
    write_notebook(tmp_path / "child.py", _declare_environment(layout.env), "dbutils.widgets.get('environment')")
    started = write_notebook(tmp_path / "nb.py", f"dbutils.notebook.run('./child', 60, {{'environment': {other!r}}})")
    with pytest.raises(NotebookCellError, match=f"widget is {other!r}, but this local session serves"):
        runtime.run(started)
    included = write_notebook(tmp_path / "inc.py", magic(f'%run ./child $environment="{other}"'))
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(included)
    _assert_mismatch(failure.value, other, layout.env)


def _first_environment_read(path):  # noqa: ANN001, ANN202 - a Path; (Path, cell number) or None
    """Where a notebook first reads the environment widget: one of its cells, or a cell of a notebook it %runs."""
    for cell in parse_notebook_file(path).cells:
        if cell.kind == "run":
            found = _first_environment_read(resolve_notebook(cell.body.split()[0], path.parent))
            if found:
                return found
        elif f'widgets.get("{ENVIRONMENT_WIDGET}")' in cell.body:
            return path, cell.number
    return None


REPO_NOTEBOOKS = repo_notebooks()
ENVIRONMENT_NOTEBOOKS = [path for path in REPO_NOTEBOOKS if _first_environment_read(path)]


def test_the_pipeline_notebooks_read_the_environment_widget():
    assert repo_root() / "notebooks" / "05_driver.py" in ENVIRONMENT_NOTEBOOKS
    assert repo_root() / "setup" / "01_schemas_and_tables.py" in ENVIRONMENT_NOTEBOOKS


@pytest.mark.parametrize("path", ENVIRONMENT_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_repo_notebook_refuses_another_environment_at_its_first_read_of_the_widget(runtime, layout, path):
    other = _other_environment(layout)
    with pytest.raises(NotebookCellError) as failure:
        runtime.run(path, {ENVIRONMENT_WIDGET: other})
    notebook, cell = _first_environment_read(path)
    assert (failure.value.notebook, failure.value.cell) == (str(notebook), cell)
    _assert_mismatch(failure.value, other, layout.env)


def test_the_console_leaves_html_and_exit_values_to_the_record_unless_verbose(spark, layout, tmp_path, capsys):
    nb = write_notebook(
        tmp_path / "nb.py",
        "print('20 of 20 present')",
        "displayHTML('<pre>CREATE TABLE t (a INT) -- a &lt; b</pre>')",
        "dbutils.notebook.exit('done')",
    )
    quiet = NotebookRuntime(spark, layout).run(nb)
    out = capsys.readouterr().out
    assert "20 of 20 present" in out and "CREATE TABLE" not in out and "done" not in out
    kept = all_text(recorded(quiet, "nb"))
    assert "CREATE TABLE t (a INT)" in kept and "Notebook exited: done" in kept

    NotebookRuntime(spark, layout, verbose=True).run(nb)
    out = capsys.readouterr().out
    assert "CREATE TABLE t (a INT) -- a < b\n" in out  # the HTML's text, tags dropped
    assert "Notebook exited: done" in out


def test_display_of_a_figure_records_a_png_and_prints_its_title(runtime, tmp_path, capsys):
    nb = write_notebook(
        tmp_path / "charts.py",
        "from matplotlib.figure import Figure\nfigure = Figure()\nfigure.suptitle('Workouts')\n"
        "figure.subplots().bar([1, 2], [3, 4])\ndisplay(figure)",
    )
    result = NotebookRuntime(runtime.spark, runtime.layout, echo=True).run(nb)
    (output,) = recorded(result, "charts").cells[0].outputs
    assert output.output_type == "display_data" and output.data["text/plain"] == "<figure: Workouts>"
    assert base64.b64decode(output.data["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "<figure: Workouts>" in capsys.readouterr().out
    assert 'src="data:image/png;base64,' in (result.record_folder / "charts.html").read_text()


def test_pyplot_figures_left_open_are_shown_once_at_the_end_of_their_cell(runtime, tmp_path):
    nb = write_notebook(
        tmp_path / "plots.py",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.title('shown by plt.show')\nplt.show()\n"
        "plt.figure()\n_ = plt.title('left open')",
        "figure = plt.figure()\n_ = plt.title('displayed')\ndisplay(figure)",
        "print(plt.get_fignums())",
    )
    cells = recorded(runtime.run(nb), "plots").cells
    titles = [[o.data["text/plain"] for o in cell.outputs if o.output_type == "display_data"] for cell in cells[:2]]
    assert titles == [["<figure: shown by plt.show>", "<figure: left open>"], ["<figure: displayed>"]]
    assert cells[2].outputs[0].text == "[]\n"  # every figure shown was closed
