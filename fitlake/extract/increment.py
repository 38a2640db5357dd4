"""Increments: which rows one extract step delivers, under which file name, in which bytes. No I/O.

An increment is a range of marks ``(low, high]`` of one source table. Its file name is a function of the
range alone, so a re-run after a crash writes (or finds) the very same name, and a stream that already
ingested that name does not ingest it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The first increment of a source has no lower bound: every row up to its high mark.
FROM_START = "start"


@dataclass(frozen=True)
class Increment:
    """The rows of ``source`` whose mark lies in ``(low, high]``; ``low`` None means from the start."""

    source: str
    low: int | None
    high: int

    def __post_init__(self) -> None:
        if self.low is not None and self.low >= self.high:
            raise ValueError(f"An increment's low mark must be below its high mark, got ({self.low}, {self.high}].")

    @property
    def file_name(self) -> str:
        start = FROM_START if self.low is None else str(self.low)
        return f"{self.source}-{start}-{self.high}.csv"

    @property
    def hidden_name(self) -> str:
        """Where the file is written first: streams skip names starting with ``.`` until it is renamed."""
        return f".{self.file_name}.incoming"


def read_from(mark: int | None, overlap: int) -> int | None:
    """The low end of the next increment: the saved mark, less the overlap window re-read for late commits."""
    return None if mark is None else mark - overlap


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[str | None]]) -> str:
    """The documented landing CSV: a header, then one line per row; NULL is an empty field, as Spark reads it.

    Values are written as the database gave them (text), so a malformed one arrives unchanged for bronze to
    quarantine. A value holding a comma, a quote, a CR or an LF is quoted (its quotes doubled): the csv
    module quotes only the characters of its own line terminator, and a lone CR left bare would end the line
    for a reader that splits on any line break, letting a value inject rows.
    """
    lines = [columns, *(["" if value is None else value for value in row] for row in rows)]
    return "".join(",".join(_csv_field(value) for value in line) + "\n" for line in lines)


_QUOTED_WHEN_HOLDING = (",", '"', "\r", "\n")


def _csv_field(value: str) -> str:
    if any(character in value for character in _QUOTED_WHEN_HOLDING):
        return '"' + value.replace('"', '""') + '"'
    return value
