"""Names that reach SQL: validated before use, so no widget value can inject a statement."""

from __future__ import annotations

import re

from fitlake.errors import ConfigError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


def identifier(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a plain SQL identifier (letters, digits, underscores), else fail."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ConfigError(
            f"Invalid {what} {name!r}: use letters, digits and underscores only, starting with a letter or "
            "underscore (at most 255 characters)."
        )
    return name


def qualified(*parts: str) -> str:
    """``a.b.c`` from validated parts; an empty leading part (no catalog) is left out."""
    return ".".join(identifier(part) for part in parts if part != "")
