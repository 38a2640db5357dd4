"""The driver's parameters, and the sample and extract notebooks', have one spec (fitlake.parameters): the
notebooks' widgets, which cannot import it, are checked against it here, and so are load_config's arguments and the
CLI's flags, which derive from it. The job parameters derive from it too (tests/unit/test_jobs.py checks them
against the notebooks)."""

from __future__ import annotations

import argparse
import ast
import inspect
from pathlib import Path

import pytest

from fitlake.cli import build_parser, extract_widgets, kafka_produce_widgets, main, produce_widgets
from fitlake.config import load_config
from fitlake.parameters import (
    DASHBOARD_PARAMETERS,
    DELIVER_TO,
    DRIVER_PARAMETERS,
    ENVIRONMENT,
    EXTRACT_PARAMETERS,
    LANDING,
    NOTEBOOK_PARAMETERS,
    RUN_PARAMETERS,
    SAMPLE_PARAMETERS,
    SAMPLE_SET,
    SAMPLE_SETS,
    SET_DIR,
    Parameter,
)

ROOT = Path(__file__).resolve().parents[2]
DRIVER_NOTEBOOKS = ("notebooks/01_config.py", "notebooks/05_driver.py")


def declared_widgets(*notebooks: str) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """Widget name -> (kind, default, choices), from the ``dbutils.widgets.<kind>(...)`` calls in the source."""
    found = {}
    for notebook in notebooks:
        for node in ast.walk(ast.parse((ROOT / notebook).read_text(encoding="utf-8"))):
            call = node.func if isinstance(node, ast.Call) else None
            if isinstance(call, ast.Attribute) and ast.unparse(call.value) == "dbutils.widgets" and call.attr != "get":
                values = [ast.literal_eval(argument) for argument in node.args]
                if call.attr in ("text", "dropdown"):
                    choices = tuple(values[2]) if call.attr == "dropdown" else ()
                    found[values[0]] = (call.attr, values[1], choices)
    return found


def as_widget(parameter: Parameter) -> tuple[str, str, tuple[str, ...]]:
    """The widget ``parameter``'s spec asks for: (kind, default, choices)."""
    return ("dropdown" if parameter.choices else "text", parameter.default, parameter.choices)


def test_the_driver_notebooks_declare_exactly_the_specs_widgets_with_its_defaults_and_choices():
    widgets = declared_widgets(*DRIVER_NOTEBOOKS)
    assert len(widgets) == len(DRIVER_PARAMETERS) > 0
    for parameter in DRIVER_PARAMETERS:
        assert widgets[parameter.name] == as_widget(parameter), parameter.name


def test_the_sample_notebooks_declare_exactly_the_specs_widgets_after_the_config_ones():
    """The producer: the set, its folder and where it goes; the test notebook: the set and its folder."""
    producer, test = declared_widgets("notebooks/06_producer.py"), declared_widgets("notebooks/07_test.py")
    assert producer == {parameter.name: as_widget(parameter) for parameter in SAMPLE_PARAMETERS}
    assert test == {parameter.name: as_widget(parameter) for parameter in (SAMPLE_SET, SET_DIR)}


def test_the_dashboard_notebook_declares_exactly_the_specs_widget():
    assert declared_widgets("notebooks/09_dashboard.py") == {p.name: as_widget(p) for p in DASHBOARD_PARAMETERS}


def _options(command: str) -> dict[str, argparse.Action]:
    """A CLI command's options by flag."""
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    return {option: action for action in parser._actions for option in action.option_strings}


def test_the_extract_notebook_declares_the_specs_widgets_and_fitlake_extract_fills_exactly_those():
    """What the command passes is what the notebooks (01_config's and 08_extract's) declare, values as given."""
    widgets = declared_widgets("notebooks/08_extract.py")
    assert widgets == {parameter.name: as_widget(parameter) for parameter in EXTRACT_PARAMETERS}
    args = build_parser().parse_args(["extract", "--jdbc-url", "jdbc:sqlite:/tmp/x.db", "--sources", "gym_logins"])
    values = extract_widgets(args)
    assert set(values) == {ENVIRONMENT.name, LANDING.name, *widgets}
    assert set(values) <= {*declared_widgets("notebooks/01_config.py"), *widgets}
    assert (values["jdbc_url"], values["sources"], values["jdbc_driver"]) == ("jdbc:sqlite:/tmp/x.db", "gym_logins", "")


def test_fitlake_produce_fills_the_producer_widgets_and_kafka_produce_delivers_to_the_topics():
    producer, config = declared_widgets("notebooks/06_producer.py"), declared_widgets("notebooks/01_config.py")
    landed = produce_widgets(build_parser().parse_args(["produce", "--set", "2", "--landing", "file:/tmp/in"]))
    assert set(landed) <= {*producer, *config} and (landed["set"], landed["landing"]) == ("2", "file:/tmp/in")
    assert DELIVER_TO.name not in landed  # the widget's default: the landing files
    published = kafka_produce_widgets(build_parser().parse_args(["kafka", "produce", "--set", "1"]))
    assert set(published) <= {*producer, *config} and published["set"] == "1"
    kind, default, choices = producer[DELIVER_TO.name]
    assert published[DELIVER_TO.name] in choices and published[DELIVER_TO.name] != default


def test_a_sample_set_is_required_and_limited_to_the_shipped_ones(capsys, tmp_path):
    """produce and db refuse to run without a set or with another; kafka's produce action says what it needs."""
    for command in (["produce"], ["db", "load"], ["produce", "--set", "3"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(command)
    assert main(["kafka", "produce", "--data-root", str(tmp_path)]) == 2
    assert "needs --set 1 or 2" in capsys.readouterr().err
    for command in ("produce", "db", "kafka"):
        assert tuple(_options(command)[SAMPLE_SET.flag].choices) == SAMPLE_SETS == ("1", "2")


def test_the_config_widgets_are_load_configs_arguments():
    arguments = set(inspect.signature(load_config).parameters)
    shared = [parameter.name for parameter in DRIVER_PARAMETERS if parameter not in (*RUN_PARAMETERS, ENVIRONMENT)]
    assert shared and set(shared) <= arguments


def test_fitlake_run_has_a_flag_for_every_parameter_with_its_default():
    options = _options("run")
    for parameter in DRIVER_PARAMETERS:
        action = options[parameter.flag]
        assert action.default == parameter.default, parameter.flag
        if parameter.choices:
            assert tuple(action.choices) == parameter.choices, parameter.flag


def test_every_notebook_declaring_a_parameters_widget_declares_it_as_the_spec_does():
    """Not only the driver's notebooks: the environment's dropdown is in 01_config and the four setup notebooks,
    and the layer notebooks (02-04) declare run_mode and run_timeout_seconds again for when they run alone."""
    spec = {parameter.name: parameter for parameter in NOTEBOOK_PARAMETERS}
    notebooks = sorted(ROOT.glob("notebooks/*.py")) + sorted(ROOT.glob("setup/*.py"))
    declared = {path.name: declared_widgets(str(path.relative_to(ROOT))) for path in notebooks}
    assert sum(ENVIRONMENT.name in widgets for widgets in declared.values()) >= 5
    for layer in ("02_bronze.py", "03_silver.py", "04_gold.py"):
        assert {"run_mode", "run_timeout_seconds"} <= set(declared[layer]), layer
    for notebook, widgets in declared.items():
        for name, widget in widgets.items():
            if name in spec:
                assert widget == as_widget(spec[name]), f"{notebook}: {name}"
