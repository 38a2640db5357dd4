"""Cell outputs: what a cell printed and displayed, captured for the run record and echoed to the console.

``sys.stdout`` and ``sys.stderr`` are replaced, while a runtime runs, by streams that route each write to
the output sink of the cell the writing thread is executing (child notebooks run in their own threads).
A thread that runs no cell (Spark's ``foreachBatch`` callbacks, a notebook's own threads) writes to the
console, as on Databricks it writes to the driver log. Every piece of text passes the secret redactor
before it is shown or kept.
"""

from __future__ import annotations

import base64
import html
import io
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from nbformat import v4

CONSOLE_ROWS = 20


class OutputSink:
    """The outputs of one cell, as nbformat output dicts."""

    def __init__(self, redact: Callable[[str], str], console: TextIO | None):
        self._redact = redact
        self._console = console
        self.outputs: list[Any] = []

    def write(self, name: str, text: str, echo: bool = True) -> None:
        """Keep ``text`` in the cell's outputs; show it on the console too unless ``echo`` is False."""
        text = self._redact(text)
        if echo and self._console is not None:
            self._console.write(text)
            self._console.flush()
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.get("output_type") == "stream" and last.get("name") == name:
            last["text"] += text
        else:
            self.outputs.append(v4.new_output("stream", name=name, text=text))

    def display(self, data: dict[str, str], console_text: str | None = None) -> None:
        # Text is redacted; an image's base64 is not text a secret could be found in (a replacement would only
        # corrupt it).
        data = {mime: value if mime.startswith("image/") else self._redact(value) for mime, value in data.items()}
        if self._console is not None and console_text is not None:
            self._console.write(self._redact(console_text).rstrip("\n") + "\n")
            self._console.flush()
        self.outputs.append(v4.new_output("display_data", data=data))

    def error(self, ename: str, evalue: str, traceback_text: str) -> None:
        self.outputs.append(
            v4.new_output(
                "error",
                ename=ename,
                evalue=self._redact(evalue),
                traceback=self._redact(traceback_text).splitlines(),
            )
        )


class _RoutingStream:
    """A stand-in for sys.stdout/stderr that writes into the current thread's cell sink."""

    def __init__(self, name: str, original: TextIO, local: threading.local, redact: Callable[[str], str]):
        self._name = name
        self._original = original
        self._local = local
        self._redact = redact

    def write(self, text: str) -> int:
        sink = getattr(self._local, "sink", None)
        if sink is None:
            self._original.write(self._redact(text))
        else:
            sink.write(self._name, text)
        return len(text)

    def flush(self) -> None:
        self._original.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, item: str) -> Any:
        return getattr(self._original, item)


class OutputRouter:
    """Installs the routing streams and tracks each thread's current cell sink."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        self._redact = redact
        self._local = threading.local()
        self._depth = 0
        self._lock = threading.Lock()
        self.console_out: TextIO = sys.stdout
        self.console_err: TextIO = sys.stderr

    @contextmanager
    def installed(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self.console_out, self.console_err = sys.stdout, sys.stderr
                sys.stdout = _RoutingStream("stdout", self.console_out, self._local, self._redact)  # type: ignore[assignment]
                sys.stderr = _RoutingStream("stderr", self.console_err, self._local, self._redact)  # type: ignore[assignment]
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    sys.stdout, sys.stderr = self.console_out, self.console_err

    @contextmanager
    def cell(self, sink: OutputSink) -> Iterator[None]:
        previous = getattr(self._local, "sink", None)
        self._local.sink = sink
        try:
            yield
        finally:
            self._local.sink = previous

    @property
    def current(self) -> OutputSink | None:
        return getattr(self._local, "sink", None)


def html_as_text(markup: str) -> str:
    """The text of an HTML fragment, tags dropped and entities decoded (for a console that cannot render it)."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


def render_figure(figure: Any) -> tuple[dict[str, str], str]:
    """A matplotlib ``Figure`` as display data (a base64 PNG for the record) and a one-line console note."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    note = f"<figure: {figure_title(figure)}>"
    return {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": note}, note


def figure_title(figure: Any) -> str:
    """The figure's title (its suptitle, else its first axes title), or "untitled"."""
    titles = [figure.get_suptitle(), *(ax.get_title() for ax in figure.get_axes())]
    return next((title for title in titles if title), "untitled")


def render_rows(columns: list[str], rows: list[tuple], truncated: bool) -> tuple[str, str]:
    """An HTML table and a plain-text table of ``rows`` (the HTML for the record, the text for consoles)."""
    cells = [["null" if value is None else str(value) for value in row] for row in rows]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in cells)
    note = f"<p>Showing the first {len(rows)} rows.</p>" if truncated else ""
    html_table = f"<table class='dataframe'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    return html_table, text_table(columns, cells[:CONSOLE_ROWS], truncated or len(cells) > CONSOLE_ROWS)


def text_table(columns: list[str], cells: list[list[str]], truncated: bool) -> str:
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    lines = [rule, line(columns), rule, *(line(row) for row in cells), rule]
    if truncated:
        lines.append(f"(first {len(cells)} rows shown)")
    return "\n".join(lines)
