"""The ``fitlake`` command line in-process, on the tests' session: what it passes to the notebooks it runs."""

from __future__ import annotations

import pytest
from nbhelpers import write_notebook

from fitlake import cli
from fitlake.config import ENVIRONMENT_WIDGET, ENVIRONMENTS


def _notebook_params(*argv: str) -> dict[str, str]:
    return cli._notebook_params(cli.build_parser().parse_args(["notebook", "nb.py", *argv]))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_notebook_sets_the_environment_widget_to_env(env):
    assert _notebook_params("--env", env, "-p", "set=2") == {ENVIRONMENT_WIDGET: env, "set": "2"}


def test_notebook_environment_widget_defaults_to_the_default_env():
    assert _notebook_params() == {ENVIRONMENT_WIDGET: cli.build_parser().parse_args(["notebook", "x"]).env}


def test_an_explicit_environment_parameter_wins_over_env():
    assert _notebook_params("--env", "qa", "-p", f"{ENVIRONMENT_WIDGET}=prod") == {ENVIRONMENT_WIDGET: "prod"}


@pytest.fixture
def reads_environment(tmp_path, layout):  # noqa: ANN001, ANN201 - a notebook whose widget default is not the session's
    other = next(env for env in ENVIRONMENTS if env != layout.env)
    return write_notebook(
        tmp_path / "nb.py",
        f"dbutils.widgets.dropdown({ENVIRONMENT_WIDGET!r}, {other!r}, {list(ENVIRONMENTS)!r})",
        f"dbutils.notebook.exit(dbutils.widgets.get({ENVIRONMENT_WIDGET!r}))",
    )


def test_fitlake_notebook_env_reaches_the_notebooks_widget(spark, layout, reads_environment, capsys):
    argv = ["notebook", str(reads_environment), "--env", layout.env, "--data-root", str(layout.data_root)]
    assert cli.main(argv) == 0
    assert f"Exit value: {layout.env}" in capsys.readouterr().out


def test_fitlake_notebook_with_another_environment_parameter_fails_clearly(spark, layout, reads_environment, capsys):
    other = next(env for env in ENVIRONMENTS if env != layout.env)
    argv = ["notebook", str(reads_environment), "--data-root", str(layout.data_root), "-p", f"environment={other}"]
    assert cli.main([*argv, "--env", layout.env]) == 1
    err = capsys.readouterr().err
    assert f"FAILED: {reads_environment}, cell 2" in err
    assert f"widget is {other!r}, but this local session serves {layout.env!r}" in err
