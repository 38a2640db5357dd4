import pytest

from fitlake.errors import ConfigError, WidgetError
from fitlake.local.widgets import Widgets

# Declare and get


def test_text_widget_returns_default():
    widgets = Widgets()
    widgets.text("env", "dev")
    assert widgets.get("env") == "dev"


def test_dropdown_widget_returns_default():
    widgets = Widgets()
    widgets.dropdown("env", "dev", ["dev", "qa", "prod"])
    assert widgets.get("env") == "dev"


def test_combobox_widget_returns_default():
    widgets = Widgets()
    widgets.combobox("env", "dev", ["dev", "qa"])
    assert widgets.get("env") == "dev"


def test_multiselect_widget_returns_default():
    widgets = Widgets()
    widgets.multiselect("days", "mon,tue", ["mon", "tue", "wed"])
    assert widgets.get("days") == "mon,tue"


def test_passed_argument_overrides_default():
    widgets = Widgets({"env": "prod"})
    widgets.text("env", "dev")
    assert widgets.get("env") == "prod"


def test_passed_arguments_are_strings():
    widgets = Widgets({"limit": 10})
    widgets.text("limit", "5")
    assert widgets.get("limit") == "10"


# Choices


def test_dropdown_default_outside_choices_fails():
    with pytest.raises(WidgetError, match="staging"):
        Widgets().dropdown("env", "staging", ["dev", "prod"])


def test_passed_dropdown_value_outside_choices_fails():
    widgets = Widgets({"env": "staging"})
    with pytest.raises(WidgetError, match="staging"):
        widgets.dropdown("env", "dev", ["dev", "prod"])


def test_passed_dropdown_value_inside_choices_is_used():
    widgets = Widgets({"env": "prod"})
    widgets.dropdown("env", "dev", ["dev", "prod"])
    assert widgets.get("env") == "prod"


def test_multiselect_value_with_one_item_outside_choices_fails():
    widgets = Widgets({"days": "mon,sun"})
    with pytest.raises(WidgetError, match="sun"):
        widgets.multiselect("days", "mon", ["mon", "tue"])


def test_multiselect_valid_comma_list_passes():
    widgets = Widgets({"days": "mon,tue"})
    widgets.multiselect("days", "mon", ["mon", "tue", "wed"])
    assert widgets.get("days") == "mon,tue"


def test_multiselect_default_outside_choices_fails():
    with pytest.raises(WidgetError):
        Widgets().multiselect("days", "sun", ["mon", "tue"])


def test_combobox_accepts_value_outside_choices():
    widgets = Widgets({"env": "staging"})
    widgets.combobox("env", "other", ["dev", "prod"])
    assert widgets.get("env") == "staging"


# Undeclared names


def test_get_of_undeclared_and_unpassed_name_fails_as_input_widget_not_defined():
    with pytest.raises(WidgetError, match="InputWidgetNotDefined"):
        Widgets().get("env")


def test_passed_but_undeclared_name_can_be_read():
    assert Widgets({"run_date": "2024-01-01"}).get("run_date") == "2024-01-01"


def test_get_all_returns_declared_and_passed_values():
    widgets = Widgets({"env": "prod", "extra": "x"})
    widgets.text("env", "dev")
    widgets.text("table", "t1")
    assert widgets.getAll() == {"env": "prod", "extra": "x", "table": "t1"}


# Remove


def test_get_after_remove_fails():
    widgets = Widgets({"env": "prod"})
    widgets.text("env", "dev")
    widgets.remove("env")
    with pytest.raises(WidgetError, match="InputWidgetNotDefined"):
        widgets.get("env")


def test_remove_of_unknown_widget_fails():
    with pytest.raises(WidgetError, match="env"):
        Widgets().remove("env")


def test_remove_all_removes_declared_and_passed_values():
    widgets = Widgets({"extra": "x"})
    widgets.text("env", "dev")
    widgets.removeAll()
    assert widgets.getAll() == {}
    with pytest.raises(WidgetError):
        widgets.get("env")


# Re-declaring, getArgument, pass_argument


def test_redeclaring_keeps_current_value():
    widgets = Widgets()
    widgets.text("env", "dev")
    widgets.text("env", "prod")
    assert widgets.get("env") == "dev"


def test_get_argument_returns_default_when_undefined():
    assert Widgets().getArgument("env", "fallback") == "fallback"


def test_get_argument_returns_value_when_defined():
    widgets = Widgets()
    widgets.text("env", "dev")
    assert widgets.getArgument("env", "fallback") == "dev"


def test_pass_argument_overrides_declared_value():
    widgets = Widgets()
    widgets.text("env", "dev")
    widgets.pass_argument("env", "prod")
    assert widgets.get("env") == "prod"


def test_pass_argument_before_declaration_overrides_default():
    widgets = Widgets()
    widgets.pass_argument("env", "prod")
    widgets.text("env", "dev")
    assert widgets.get("env") == "prod"


def test_pass_argument_outside_declared_dropdown_choices_fails():
    widgets = Widgets()
    widgets.dropdown("env", "dev", ["dev", "prod"])
    with pytest.raises(WidgetError, match="staging"):
        widgets.pass_argument("env", "staging")


# The runtime's check of what a notebook reads


def _refuse_prod(name: str, value: str) -> None:
    if value == "prod":
        raise ConfigError(f"{name}={value} refused")


def test_the_check_refuses_a_value_on_get_get_argument_and_get_all():
    widgets = Widgets({"env": "prod"}, check=_refuse_prod)
    widgets.dropdown("env", "dev", ["dev", "prod"])
    for read in (lambda: widgets.get("env"), lambda: widgets.getArgument("env", "dev"), widgets.getAll):
        with pytest.raises(ConfigError, match="env=prod refused"):
            read()


def test_the_check_passes_values_it_accepts_and_a_passed_undeclared_value_is_checked_too():
    widgets = Widgets({"extra": "prod"}, check=_refuse_prod)
    widgets.text("env", "dev")
    assert widgets.get("env") == "dev"
    assert widgets.getArgument("missing", "fallback") == "fallback"
    with pytest.raises(ConfigError, match="extra=prod refused"):
        widgets.get("extra")
