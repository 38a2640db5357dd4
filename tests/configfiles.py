"""Editing a test's copy of the environment files (the ``config_dir`` fixture in conftest.py)."""

from __future__ import annotations

from pathlib import Path


def edit(config_dir: Path, old: str, new: str, env: str = "dev") -> Path:
    """Replace ``old`` (which must occur exactly once, so the edit hits what the test means) in ``<env>.toml``."""
    path = config_dir / f"{env}.toml"
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {path}"
    path.write_text(text.replace(old, new))
    return path
