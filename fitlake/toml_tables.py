"""One check for every table of ``config/<environment>.toml``: exactly the expected keys, each of its type.

Every reader of the file (the pipeline's sections, ``[kafka]``, ``[extract]``, governance, deployment)
checks its tables here, so a mistake anywhere is reported the same way: the file, the dotted key, and what
is expected. Every whole number has bounds, given by the section's reader next to its keys: TOML allows
any 64-bit integer, and no setting here means anything near that.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fitlake.errors import ConfigError

_KIND = {str: "a string", int: "a whole number", dict: "a table", list: "a list"}


def check_table(
    path: Path,
    value: Any,
    key: str,
    fields: dict[str, type],
    *,
    optional: tuple[str, ...] = (),
    allow_empty: bool = True,
    bounds: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """``value`` as the TOML table ``key`` with exactly ``fields`` (those in ``optional`` may be left out).

    With ``allow_empty=False`` strings, tables and lists must not be empty either. ``bounds`` gives each whole
    number field its inclusive range (low, high); a whole number field without one is a programming error.
    """
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: section [{key}] is missing or not a table.")
    for name in value:
        if name not in fields:
            raise ConfigError(f"{path}: unknown key {key}.{name}; expected {', '.join(fields)}.")
    for name, kind in fields.items():
        expected = _expected(kind, allow_empty)
        if name not in value:
            if name in optional:
                continue
            raise ConfigError(f"{path}: {key}.{name} is missing ({expected} expected).")
        # bool is an int in Python, never in a config file.
        if not isinstance(value[name], kind) or isinstance(value[name], bool):
            raise ConfigError(f"{path}: {key}.{name} must be {expected}, got {type(value[name]).__name__}.")
        if not allow_empty and kind in (str, dict, list) and not value[name]:
            raise ConfigError(f"{path}: {key}.{name} is empty ({expected} expected).")
        if kind is int:
            low, high = (bounds or {})[name]
            if not low <= value[name] <= high:
                raise ConfigError(f"{path}: {key}.{name} must be from {low:,} to {high:,}, got {_shown(value[name])}.")
    return value


def _shown(number: int) -> str:
    # Python refuses to print an int of more than 4300 digits; TOML's are 64-bit, tomllib's unbounded.
    return f"{number:,}" if number.bit_length() <= 64 else "a number of more than 64 bits"


def _expected(kind: type, allow_empty: bool) -> str:
    text = _KIND[kind]
    return text if allow_empty or kind is int else text.replace("a ", "a non-empty ", 1)
