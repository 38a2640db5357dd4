"""The producer: copies a sample set into the landing zone, file by file, as a feed arriving.

Each file is copied under a hidden name first and then renamed, so a stream listing the folder never
reads a half-written file (Spark and Auto Loader skip names starting with ``.`` or ``_``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fitlake.contract import SOURCE_NAMES
from fitlake.errors import ConfigError

SOURCES = SOURCE_NAMES  # the order a set lands in: the calendar first

Copy = Callable[[str, str], object]


def set_files(set_dir: Path) -> list[tuple[str, Path]]:
    """(source, file) for every landing file of a sample set, in a stable order."""
    if not set_dir.is_dir():
        raise ConfigError(f"Sample set {set_dir} does not exist: generate it (fitlake generate) or pick set 1 or 2.")
    files = [
        (source, path)
        for source in SOURCES
        for path in sorted((set_dir / source).glob("*"))
        if path.is_file() and not path.name.startswith((".", "_"))
    ]
    if not files:
        raise ConfigError(f"Sample set {set_dir} holds no landing files under {', '.join(SOURCES)}.")
    return files


def produce(set_dir: Path, landing: str, copy: Copy, move: Copy) -> list[str]:
    """Copy the set's files into ``landing`` (``copy``/``move`` are ``dbutils.fs.cp``/``mv``); return targets."""
    written = []
    for source, path in set_files(set_dir):
        target = f"{landing.rstrip('/')}/{source}/{path.name}"
        incoming = f"{landing.rstrip('/')}/{source}/.{path.name}.incoming"
        copy(f"file:{path.resolve()}", incoming)
        move(incoming, target)
        written.append(target)
    return written
