"""The driver's parameters, and the sample and extract notebooks', have one spec (fitlake.parameters): the
notebooks' widgets, which cannot import it, are checked against it here, and so are load_config's arguments and the
CLI's flags, which derive from it. The job parameters derive from it too (tests/unit/test_jobs.py checks them
against the notebooks)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from fitlake.cli import build_parser
from fitlake.config import load_config
from fitlake.parameters import (
    DRIVER_PARAMETERS,
    ENVIRONMENT,
    EXTRACT_PARAMETERS,
    LANDING,
    RUN_PARAMETERS,
    SAMPLE_PARAMETERS,
    SAMPLE_SET,
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


def test_the_extract_notebook_and_command_take_the_specs_widgets_and_flags():
    assert declared_widgets("notebooks/08_extract.py") == {p.name: as_widget(p) for p in EXTRACT_PARAMETERS}
    extract = build_parser()._subparsers._group_actions[0].choices["extract"]
    options = {option: action for action in extract._actions for option in action.option_strings}
    for parameter in (LANDING, *EXTRACT_PARAMETERS):
        assert (options[parameter.flag].dest, options[parameter.flag].default) == (parameter.name, parameter.default)


def test_the_cli_commands_taking_a_sample_set_give_the_specs_flags():
    """produce and db need a set; kafka's produce action takes one; all take the folder of generated sets."""
    commands = build_parser()._subparsers._group_actions[0].choices
    for command, required in (("produce", True), ("db", True), ("kafka", False)):
        options = {option: action for action in commands[command]._actions for option in action.option_strings}
        for parameter in (SAMPLE_SET, SET_DIR):
            action = options[parameter.flag]
            assert action.dest == parameter.name and action.required == (required and parameter is SAMPLE_SET)
            assert tuple(action.choices or ()) == parameter.choices, (command, parameter.flag)
    produce = {option: action for action in commands["produce"]._actions for option in action.option_strings}
    assert produce[LANDING.flag].default == LANDING.default


def test_the_config_widgets_are_load_configs_arguments():
    arguments = set(inspect.signature(load_config).parameters)
    shared = [parameter.name for parameter in DRIVER_PARAMETERS if parameter not in (*RUN_PARAMETERS, ENVIRONMENT)]
    assert shared and set(shared) <= arguments


def test_fitlake_run_has_a_flag_for_every_parameter_with_its_default():
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    options = {option: action for action in run._actions for option in action.option_strings}
    for parameter in DRIVER_PARAMETERS:
        action = options[parameter.flag]
        assert action.default == parameter.default, parameter.flag
        if parameter.choices:
            assert tuple(action.choices) == parameter.choices, parameter.flag


def test_every_notebook_declaring_a_parameters_widget_declares_it_as_the_spec_does():
    """Not only the driver's notebooks: the environment's dropdown is in 01_config and the four setup notebooks,
    and the layer notebooks (02-04) declare run_mode and run_timeout_seconds again for when they run alone."""
    spec = {parameter.name: parameter for parameter in (*DRIVER_PARAMETERS, *SAMPLE_PARAMETERS, *EXTRACT_PARAMETERS)}
    notebooks = sorted(ROOT.glob("notebooks/*.py")) + sorted(ROOT.glob("setup/*.py"))
    declared = {path.name: declared_widgets(str(path.relative_to(ROOT))) for path in notebooks}
    assert sum(ENVIRONMENT.name in widgets for widgets in declared.values()) >= 5
    for layer in ("02_bronze.py", "03_silver.py", "04_gold.py"):
        assert {"run_mode", "run_timeout_seconds"} <= set(declared[layer]), layer
    for notebook, widgets in declared.items():
        for name, widget in widgets.items():
            if name in spec:
                assert widget == as_widget(spec[name]), f"{notebook}: {name}"
