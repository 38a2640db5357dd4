"""Parse Databricks source-format notebooks into cells.

A Python notebook starts with ``# Databricks notebook source`` and separates cells with
``# COMMAND ----------``; a magic cell prefixes each of its lines with ``# MAGIC``. SQL notebooks use the
same shape with ``--`` as the comment marker. The parser only reads: what a cell means is the executor's
business, so an unknown magic parses fine and fails when it would run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fitlake.errors import NotebookFormatError

# Comment marker per notebook language, as Databricks writes it on export.
COMMENT_MARKER = {"python": "#", "sql": "--"}

# Magics whose cell body is code in another language, keyed by the magic as typed.
LANGUAGE_MAGICS = {"%python": "python", "%sql": "sql"}
MARKDOWN_MAGICS = {"%md", "%md-sandbox"}


@dataclass(frozen=True)
class Cell:
    """One notebook cell.

    Attributes:
        number: 1-based position in the notebook, as Databricks numbers cells (empty cells count).
        kind: ``python``, ``sql``, ``md``, ``run``, ``pip``, ``empty``, or the name of any other magic
            (``%sh``, ``%scala`` ...) that the executor will refuse.
        body: the cell's content without the magic line; for ``run`` and ``pip`` the magic's arguments.
        source: the cell as a person would type it in the notebook editor (magic line included).
        line: 1-based line of the file where ``body`` starts, so tracebacks point into the file.
        title: the cell title from a ``DBTITLE`` line, if any.
    """

    number: int
    kind: str
    body: str
    source: str
    line: int
    title: str | None = None


@dataclass(frozen=True)
class Notebook:
    path: Path
    language: str
    cells: tuple[Cell, ...]

    @property
    def name(self) -> str:
        return self.path.stem


def header_for(language: str) -> str:
    return f"{COMMENT_MARKER[language]} Databricks notebook source"


def separator_for(language: str) -> str:
    return f"{COMMENT_MARKER[language]} COMMAND ----------"


def parse_notebook_file(path: Path) -> Notebook:
    """Read and parse the notebook at ``path``."""
    return parse_notebook(path.read_text(encoding="utf-8"), path)


def parse_notebook(text: str, path: Path) -> Notebook:
    """Parse notebook source text; ``path`` is used for the language hint and error messages."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    language = _language_from_header(lines[0] if lines else "", path)
    separator = separator_for(language)

    cells: list[Cell] = []
    chunk: list[str] = []
    chunk_start = 2  # the header is line 1
    for line_no, line in enumerate(lines[1:], start=2):
        if line.rstrip() == separator:
            cells.append(_parse_cell(chunk, chunk_start, len(cells) + 1, language, path))
            chunk, chunk_start = [], line_no + 1
        else:
            chunk.append(line)
    cells.append(_parse_cell(chunk, chunk_start, len(cells) + 1, language, path))
    return Notebook(path=path, language=language, cells=tuple(cells))


def _language_from_header(first_line: str, path: Path) -> str:
    for language in COMMENT_MARKER:
        if first_line.strip() == header_for(language):
            return language
    raise NotebookFormatError(
        f"{path} is not a Databricks source notebook: its first line must be "
        f"'{header_for('python')}' (Python) or '{header_for('sql')}' (SQL), found {first_line[:60]!r}. "
        "Export the notebook from Databricks as 'Source file', or add the header line."
    )


def _parse_cell(lines: list[str], start: int, number: int, language: str, path: Path) -> Cell:
    marker = COMMENT_MARKER[language]
    lines, start = _strip_blank_edges(lines, start)
    title = None
    if lines and lines[0].startswith(f"{marker} DBTITLE"):
        title = lines[0].split(",", 1)[1].strip() if "," in lines[0] else None
        lines, start = _strip_blank_edges(lines[1:], start + 1)
    if not lines:
        return Cell(number=number, kind="empty", body="", source="", line=start, title=title)

    magic_prefix = f"{marker} MAGIC"
    if not lines[0].startswith(magic_prefix):
        body = "\n".join(lines)
        return Cell(number=number, kind=language, body=body, source=body, line=start, title=title)

    unprefixed = []
    for offset, line in enumerate(lines):
        if not line.startswith(magic_prefix):
            raise NotebookFormatError(
                f"{path}, cell {number}, line {start + offset}: a magic cell must prefix every line with "
                f"'{magic_prefix}', found {line[:60]!r}."
            )
        rest = line[len(magic_prefix) :]
        unprefixed.append(rest[1:] if rest.startswith(" ") else rest)
    return _magic_cell(unprefixed, start, number, title, path)


def _magic_cell(lines: list[str], start: int, number: int, title: str | None, path: Path) -> Cell:
    first = lines[0].strip()
    if not first.startswith("%"):
        raise NotebookFormatError(
            f"{path}, cell {number}, line {start}: a MAGIC cell must start with a magic command such as "
            f"%md, %sql or %run, found {first[:60]!r}."
        )
    magic, _, inline = first.partition(" ")
    source = "\n".join(lines)
    if magic in ("%run", "%pip"):
        return Cell(number=number, kind=magic[1:], body=inline.strip(), source=source, line=start, title=title)
    # The body may start on the magic's own line (``%md # Title``) or on the next one.
    body_lines = ([inline] if inline.strip() else []) + lines[1:]
    body_start = start if inline.strip() else start + 1
    body = "\n".join(body_lines)
    if magic in MARKDOWN_MAGICS:
        kind = "md"
    elif magic in LANGUAGE_MAGICS:
        kind = LANGUAGE_MAGICS[magic]
    else:
        kind = magic
    return Cell(number=number, kind=kind, body=body, source=source, line=body_start, title=title)


def _strip_blank_edges(lines: list[str], start: int) -> tuple[list[str], int]:
    head = 0
    while head < len(lines) and not lines[head].strip():
        head += 1
    tail = len(lines)
    while tail > head and not lines[tail - 1].strip():
        tail -= 1
    return lines[head:tail], start + head


def split_sql_statements(sql: str) -> list[str]:
    """Split SQL text on ``;`` outside quotes and comments; statements that are only comments are dropped."""
    statements: list[str] = []
    text: list[str] = []
    has_code = False
    for kind, piece in _sql_pieces(sql):
        if kind == ";":
            if has_code:
                statements.append("".join(text).strip())
            text, has_code = [], False
            continue
        text.append(piece)
        has_code = has_code or (kind != "comment" and bool(piece.strip()))
    if has_code:
        statements.append("".join(text).strip())
    return statements


def _sql_pieces(sql: str) -> Iterator[tuple[str, str]]:
    """Yield (kind, text) pieces of ``sql``: kind is ``quoted``, ``comment``, ``;`` or ``code``."""
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"', "`"):
            end = _closing_quote(sql, i)
            yield "quoted", sql[i:end]
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            yield "comment", sql[i:end]
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end == -1 else end + 2
            yield "comment", sql[i:end]
        elif ch == ";":
            end = i + 1
            yield ";", ch
        else:
            end = i + 1
            while end < n and sql[end] not in "'\"`;-/":
                end += 1
            yield "code", sql[i:end]
        i = max(end, i + 1)


def _closing_quote(sql: str, start: int) -> int:
    """Index just past the quote that closes the one at ``start`` (backslash escapes honoured)."""
    quote, i = sql[start], start + 1
    while i < len(sql):
        if sql[i] == "\\":
            i += 2
            continue
        if sql[i] == quote:
            return i + 1
        i += 1
    return len(sql)
