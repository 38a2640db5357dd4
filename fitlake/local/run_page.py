"""The run page: one ``index.html`` per run folder, the local counterpart of a Databricks job-run page.

A run (``fitlake notebook``, ``fitlake run``, ``fitlake job run``) keeps its facts in ``run.json`` beside the
executed notebooks, and ``index.html`` is drawn from them: what ran, its parameters, start, duration and
state; one row per task or notebook with its state, duration, exit value and a link to what it executed;
and, for a pipeline run, rows written and quarantined per table. Both files are rewritten as the run goes,
so a page opened mid-run shows where it is. ``fitlake runs`` lists runs from the ``run.json`` files.

Both files are written through the runtime's secret redactor, at each write: a secret the run reads only after
it started (a parameter that is also a secret, say) is redacted from then on.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

PAGE_FILE, FACTS_FILE = "index.html", "run.json"
# The states of a run, a task and a notebook: Databricks' names, and ABANDONED for a run whose process died.
PENDING, RUNNING, SUCCESS, FAILED, TIMEDOUT, CANCELED = (
    "PENDING",
    "RUNNING",
    "SUCCESS",
    "FAILED",
    "TIMEDOUT",
    "CANCELED",
)
UPSTREAM_FAILED, EXCLUDED, SUCCESS_WITH_FAILURES = "UPSTREAM_FAILED", "EXCLUDED", "SUCCESS_WITH_FAILURES"
ABANDONED = "ABANDONED"
_TONES = {
    "good": (SUCCESS, EXCLUDED),
    "warn": (SUCCESS_WITH_FAILURES, UPSTREAM_FAILED, CANCELED),
    "bad": (FAILED, TIMEDOUT, ABANDONED),
    "running": (RUNNING,),
}
_WRITES = ("inserted", "updated", "deleted")  # a pipeline summary's counts per table (RunSummary.tables)
_EXIT_VALUE_SHOWN = 300  # characters of an exit value in a row; the full value is in the executed notebook


@dataclass
class PageRow:
    """One task of a job, or one notebook (the run's own, then each child) of a notebook run."""

    name: str
    state: str = RUNNING
    seconds: float | None = None
    exit_value: str | None = None
    href: str | None = None  # the executed notebook's HTML, or a task's own run page, relative to the page
    note: str = ""  # attempts, a condition's outcome, why it failed or was skipped


@dataclass
class RunPage:
    kind: str  # "notebook" or "job"
    name: str
    parameters: dict[str, str]
    started: str  # ISO 8601, UTC
    state: str = RUNNING
    seconds: float | None = None
    rows: list[PageRow] = field(default_factory=list)
    up: str | None = None  # the page of the run this one is part of (a job's, for a task), relative to this one
    pid: int = field(default_factory=os.getpid)  # a RUNNING page whose process is gone was abandoned

    @classmethod
    def begin(cls, kind: str, name: str, parameters: dict[str, str], up: str | None = None) -> RunPage:
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(kind, name, {str(k): str(v) for k, v in parameters.items()}, started, up=up)

    @classmethod
    def read(cls, folder: Path) -> RunPage:
        facts = json.loads((folder / FACTS_FILE).read_text(encoding="utf-8"))
        rows = [PageRow(**row) for row in facts.pop("rows")]
        return cls(**facts, rows=rows)

    def finish(self, state: str, seconds: float) -> None:
        """The run ended in ``state``; a row it left unfinished (an interrupted or timed-out run) ends too."""
        self.state, self.seconds = state, seconds
        for row in self.rows:
            if row.state == RUNNING:
                row.state = state
            elif row.state == PENDING:
                row.state = CANCELED

    def write(self, folder: Path, redact: Callable[[str], str]) -> Path:
        """Write ``run.json`` and ``index.html`` into ``folder`` (each replaced whole); returns the page."""
        shown = self.redacted(redact)
        _replace(folder / FACTS_FILE, json.dumps(asdict(shown), indent=1))
        page = folder / PAGE_FILE
        _replace(page, render(shown))
        return page

    def redacted(self, redact: Callable[[str], str]) -> RunPage:
        """A copy with every value a run can put a secret into passed through ``redact``."""

        def maybe(text: str | None) -> str | None:
            return None if text is None else redact(text)

        rows = [replace(r, name=redact(r.name), exit_value=maybe(r.exit_value), note=redact(r.note)) for r in self.rows]
        parameters = {redact(k): redact(v) for k, v in self.parameters.items()}
        return replace(self, parameters=parameters, rows=rows)

    def shown_state(self) -> str:
        """The state, except that a page left RUNNING by a process that no longer exists was abandoned."""
        return ABANDONED if self.state == RUNNING and not _alive(self.pid) else self.state


def _replace(path: Path, text: str) -> None:
    """A reader (a browser refreshing the page, ``fitlake runs``) never sees a half-written file."""
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(text, encoding="utf-8")
    scratch.replace(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def pipeline_summary(exit_value: str | None) -> dict[str, Any] | None:
    """The driver's exit value (``RunSummary.as_dict``) when ``exit_value`` is one, else None."""
    try:
        value = json.loads(exit_value or "")
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    shaped = all(isinstance(value.get(key, {}), dict) for key in ("tables", "flow_seconds", "quarantined"))
    return value if shaped and "tables" in value and "flow_seconds" in value else None


def utc_text(started: str) -> str:
    """``2026-01-02 03:04:05 UTC``: the ISO stamp of ``run.json``, as a person reads it."""
    try:
        return datetime.fromisoformat(started).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return started


@dataclass(frozen=True)
class RunListing:
    folder: Path
    page: RunPage | None  # None: a record written before run pages, or one whose run.json is unreadable

    @property
    def state(self) -> str:
        return self.page.shown_state() if self.page else "-"


def recent_runs(runs_root: Path, limit: int) -> list[RunListing]:
    """The newest ``limit`` run folders under ``runs_root``, newest first (names start with the UTC start)."""
    folders = sorted((p for p in runs_root.iterdir() if p.is_dir()), reverse=True) if runs_root.is_dir() else []
    listings = []
    for folder in folders[:limit]:
        try:
            page = RunPage.read(folder)
        except (OSError, ValueError, TypeError, KeyError):
            page = None
        listings.append(RunListing(folder, page))
    return listings


# --- HTML -------------------------------------------------------------------------------------------------

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d2330; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 1.8em; }
.meta { color: #556; margin-bottom: 1.2em; } .meta b { color: #1d2330; }
table { border-collapse: collapse; width: 100%; margin-top: .4em; }
th, td { text-align: left; padding: .35em .7em; border-bottom: 1px solid #dde1e8; vertical-align: baseline; }
table.parameters { width: auto; min-width: 30em; }
th { background: #f3f5f8; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.state { display: inline-block; padding: .05em .55em; border-radius: .8em; font-size: .85em; font-weight: 600;
  background: #e5e8ee; color: #334; }
.state.good { background: #daf3e1; color: #11602e; } .state.bad { background: #fbe0df; color: #8d1b16; }
.state.warn { background: #fdf0d5; color: #7a4b00; } .state.running { background: #ddeafd; color: #174a9c; }
code, .exit { font-family: ui-monospace, monospace; font-size: .9em; overflow-wrap: anywhere; }
td.name { white-space: nowrap; }
.note { color: #667; font-size: .9em; }
"""


def render(page: RunPage) -> str:
    """The page as HTML: a head, the rows, and the per-table summary of each pipeline run among them."""
    state = page.shown_state()
    up = f'<p><a href="{_href(page.up)}">&larr; the job run</a></p>' if page.up else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Mid-run the page reloads itself, so an open tab follows the run; an ended run's page is still.
        '<meta http-equiv="refresh" content="5">' if state == RUNNING else "",
        f"<title>{_e(page.name)}: {_e(state)}</title><style>{_STYLE}</style></head><body>",
        up,
        f'<h1>{_e(page.kind.capitalize())} {_e(page.name)} <span id="run-state">{_badge(state)}</span></h1>',
        f'<div class="meta">Started <b>{_e(utc_text(page.started))}</b> · {_duration(page, state)}</div>',
        _parameters(page.parameters),
        _rows(page),
    ]
    for number, row in enumerate(page.rows):
        summary = pipeline_summary(row.exit_value)
        if summary is not None:
            parts.append(_pipeline(number, row.name, summary))
    parts.append("</body></html>")
    return "\n".join(part for part in parts if part)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _href(path: str) -> str:
    """A relative link to a file of the run: a name with ``#``, ``?`` or ``%`` in it still links to that file."""
    return _e(quote(path))


def _badge(state: str) -> str:
    tone = next((tone for tone, states in _TONES.items() if state in states), "")
    return f'<span class="state {tone}">{_e(state)}</span>'


def _duration(page: RunPage, state: str) -> str:
    if page.seconds is not None:
        return f"took <b>{page.seconds:.1f} s</b>"
    # Still running, the page says where: "fitlake runs" calls it ABANDONED once that process is gone.
    return f"running in process {page.pid}" if state == RUNNING else "did not finish"


def _parameters(parameters: dict[str, str]) -> str:
    if not parameters:
        return "<h2>Parameters</h2><p class='note'>none</p>"
    rows = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td><code>{_e(v)}</code></td></tr>" for k, v in parameters.items()
    )
    return f"<h2>Parameters</h2><table class='parameters'><tr><th>name</th><th>value</th></tr>{rows}</table>"


def _rows(page: RunPage) -> str:
    heading = "Tasks" if page.kind == "job" else "Notebooks"
    body = []
    for number, row in enumerate(page.rows):
        name = f'<a href="{_href(row.href)}">{_e(row.name)}</a>' if row.href else _e(row.name)
        if pipeline_summary(row.exit_value) is not None:
            exit_value = f'<a href="#pipeline-{number}">pipeline summary</a>'
        else:
            exit_value = _e(_shortened(row.exit_value or ""))
        seconds = "" if row.seconds is None else f"{row.seconds:.1f}"
        body.append(
            f"<tr class='row'><td class='name'>{name}</td><td>{_badge(row.state)}</td><td class='num'>{seconds}</td>"
            f"<td class='exit'>{exit_value}</td><td class='note'>{_e(row.note)}</td></tr>"
        )
    header = "<tr><th>name</th><th>state</th><th class='num'>seconds</th><th>exit value</th><th>note</th></tr>"
    return f"<h2>{heading}</h2><table id='rows'>{header}{''.join(body)}</table>"


def _shortened(text: str) -> str:
    return text if len(text) <= _EXIT_VALUE_SHOWN else text[: _EXIT_VALUE_SHOWN - 3] + "..."


def _number(value: object, digits: int = 0) -> str:
    """A count or seconds as the summary has it; anything else (a notebook's own look-alike JSON) as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return _e(value)


def _pipeline(number: int, row_name: str, summary: dict[str, Any]) -> str:
    """Rows written and quarantined per table, with the seconds its flow took (a skipped flow had nothing new).

    Quarantine counts are per source, and a source is named as the table that rejected its rows; a source no
    table of the run is named after gets a row of its own.
    """
    skipped = summary.get("skipped") if isinstance(summary.get("skipped"), list) else []
    seconds, quarantined = summary["flow_seconds"], summary.get("quarantined", {})
    body = []
    for table in [*summary["tables"], *(source for source in quarantined if source not in summary["tables"])]:
        written = summary["tables"].get(table)
        written = written if isinstance(written, dict) else {}
        counts = [_number(written.get(k, 0)) if table in summary["tables"] else "" for k in _WRITES]
        counts.append(_number(quarantined[table]) if table in quarantined else "0")
        took = "skipped: nothing new" if table in skipped else _number(seconds[table], 1) if table in seconds else ""
        cells = "".join(f"<td class='num'>{count}</td>" for count in counts)
        body.append(f"<tr><td><code>{_e(table)}</code></td>{cells}<td class='num'>{took}</td></tr>")
    header = "".join(f"<th class='num'>{name}</th>" for name in (*_WRITES, "quarantined"))
    header = f"<tr><th>table</th>{header}<th class='num'>seconds (from the flow's start)</th></tr>"
    layers = summary.get("layers")
    layers = ", ".join(map(str, layers)) if isinstance(layers, list) else str(layers or "")
    stopped = summary.get("stopped_by", "")
    meta = (
        f"{_e(summary.get('mode', ''))} mode, layers {_e(layers)}: {_number(summary.get('seconds', 0), 1)} s in the "
        f"flows, {'completed' if stopped == 'completed' else f'stopped by {_e(stopped)}'}"
    )
    return (
        f"<h2 id='pipeline-{number}'>Pipeline run: {_e(row_name)}</h2><div class='meta'>{meta}</div>"
        f"<table class='pipeline'>{header}{''.join(body)}</table>"
    )
