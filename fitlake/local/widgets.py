"""``dbutils.widgets`` with Databricks semantics.

Values passed by the caller (CLI ``-p``, ``dbutils.notebook.run`` arguments, job parameters) override the
declared defaults. As in a Databricks job run, a passed value can be read with ``get`` even where the
notebook declares no widget of that name; a name neither declared nor passed fails like Databricks'
``InputWidgetNotDefined``. A dropdown or multiselect value outside its choices fails. The runtime may pass a
``check`` that sees every value a notebook reads and refuses one by raising (the local runtime refuses an
``environment`` other than its session's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fitlake.errors import WidgetError


@dataclass
class _Widget:
    kind: str
    value: str
    choices: tuple[str, ...] | None
    label: str | None


class Widgets:
    """The widget panel of one notebook run."""

    def __init__(self, arguments: dict[str, Any] | None = None, *, check: Callable[[str, str], None] | None = None):
        """``check(name, value)`` runs on every value the notebook reads (``get``, ``getArgument``, ``getAll``)."""
        self._arguments = {str(k): str(v) for k, v in (arguments or {}).items()}
        self._widgets: dict[str, _Widget] = {}
        self._check = check or _accept

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:  # noqa: N803 (Databricks API)
        self._declare(name, "text", defaultValue, None, label)

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        self._declare(name, "dropdown", defaultValue, choices, label)

    def combobox(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        self._declare(name, "combobox", defaultValue, choices, label)

    def multiselect(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        self._declare(name, "multiselect", defaultValue, choices, label)

    def pass_argument(self, name: str, value: str) -> None:
        """Set a value as a caller would pass it (``%run ./nb $name=value``): it overrides the default."""
        value = str(value)
        if name in self._widgets:
            widget = self._widgets[name]
            _check_choice(name, widget.kind, value, widget.choices, what="value")
            widget.value = value
        self._arguments[name] = value

    def get(self, name: str) -> str:
        value = self._value(name)
        self._check(name, value)
        return value

    def _value(self, name: str) -> str:
        if name in self._widgets:
            return self._widgets[name].value
        if name in self._arguments:
            return self._arguments[name]
        raise WidgetError(
            f"InputWidgetNotDefined: no input widget named {name!r} is defined. Declare it first, for example "
            f"dbutils.widgets.text({name!r}, '<default>'), or pass it as a parameter."
        )

    def getArgument(self, name: str, defaultValue: str | None = None) -> str | None:  # noqa: N802, N803
        """Deprecated on Databricks but still common: the value, or ``defaultValue`` when undefined."""
        try:
            value = self._value(name)
        except WidgetError:
            return defaultValue
        self._check(name, value)
        return value

    def getAll(self) -> dict[str, str]:  # noqa: N802 (Databricks API)
        values = dict(self._arguments)
        values.update({name: widget.value for name, widget in self._widgets.items()})
        for name, value in values.items():
            self._check(name, value)
        return values

    def remove(self, name: str) -> None:
        if name not in self._widgets:
            raise WidgetError(f"InputWidgetNotDefined: cannot remove widget {name!r}: it is not defined.")
        del self._widgets[name]
        self._arguments.pop(name, None)

    def removeAll(self) -> None:  # noqa: N802 (Databricks API)
        self._widgets.clear()
        self._arguments.clear()

    def _declare(self, name: str, kind: str, default: str, choices: list[str] | None, label: str | None) -> None:
        if not isinstance(name, str) or not name:
            raise WidgetError(f"A widget name must be a non-empty string, got {name!r}.")
        default = str(default)
        allowed = tuple(str(c) for c in choices) if choices is not None else None
        if allowed is not None and not allowed:
            raise WidgetError(f"Widget {name!r}: choices must not be empty.")
        _check_choice(name, kind, default, allowed, what="default value")
        if name in self._arguments:
            value = self._arguments[name]
            _check_choice(name, kind, value, allowed, what="value")
        elif name in self._widgets:
            # Re-running a declaration keeps what the widget holds, as re-running a cell does on Databricks.
            value = self._widgets[name].value
        else:
            value = default
        self._widgets[name] = _Widget(kind=kind, value=value, choices=allowed, label=label)


def _accept(name: str, value: str) -> None:
    """The default check: every value may be read."""


def _check_choice(name: str, kind: str, value: str, choices: tuple[str, ...] | None, what: str) -> None:
    if kind == "dropdown" and value not in (choices or ()):
        raise WidgetError(
            f"Widget {name!r}: {what} {value!r} is not one of the dropdown's choices {list(choices or ())}."
        )
    if kind == "multiselect":
        picked = [part for part in value.split(",") if part != ""]
        outside = [part for part in picked if part not in (choices or ())]
        if outside or not picked:
            raise WidgetError(
                f"Widget {name!r}: {what} {value!r} must be one or more of {list(choices or ())} separated by commas."
            )
