"""The run page (index.html + run.json per run folder), ``fitlake runs``, and the page in a real browser."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from waiting import HANG_GUARD_SECONDS

from fitlake import cli
from fitlake.local.run_page import (
    ABANDONED,
    CANCELED,
    FACTS_FILE,
    PAGE_FILE,
    RUNNING,
    PageRow,
    RunPage,
    recent_runs,
    render,
)
from fitlake.local.secrets import REDACTED, Redactor
from fitlake.pipeline import RunSummary

HOSTILE = "<script>alert('x')</script>&\"quoted\""


class Parsed(HTMLParser):
    """What a page holds as HTML: its tags, the text of each table row's cells, the links, the headings."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self.refresh = False
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        attributes = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.links.append(attributes["href"] or "")
        elif tag == "meta" and attributes.get("http-equiv") == "refresh":
            self.refresh = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def row(self, first_cell: str, cells: int | None = None) -> list[str]:
        """The first row whose first cell is ``first_cell`` (and that has ``cells`` cells, if given)."""
        return next(row for row in self.rows if row and row[0] == first_cell and cells in (None, len(row)))


def pipeline_exit_value() -> str:
    summary = RunSummary(
        mode="batch",
        layers=["bronze", "silver"],
        started="2026-01-01T00:00:00+00:00",
        seconds=12.5,
        tables={
            "bronze.registered_users_bz": {"inserted": 5, "updated": 0, "deleted": 0},
            "silver.users": {"inserted": 3, "updated": 2, "deleted": 1},
        },
        quarantined={"bronze.registered_users_bz": 2, "bronze.kafka_multiplex": 4},  # a table's, another source's
        flow_seconds={"bronze.registered_users_bz": 4.25},
        skipped=["silver.users"],
    )
    return json.dumps(summary.as_dict())


def job_page() -> RunPage:
    page = RunPage.begin("job", "nightly", {"environment": "dev", "set": "1"})
    page.rows = [
        PageRow("produce", "SUCCESS", 1.5, "12", "produce/index.html"),
        PageRow("driver", "SUCCESS", 30.0, pipeline_exit_value(), "driver/index.html"),
        PageRow("check", "FAILED", 2.0, None, "check/index.html", note="notebooks/07_test.py, cell 3 failed"),
        PageRow("after", "UPSTREAM_FAILED", None, note="run_if ALL_SUCCESS does not hold: check FAILED"),
    ]
    page.finish("FAILED", 33.5)
    return page


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_page_shows_the_run_its_parameters_and_a_row_per_task():
    parsed = Parsed(render(job_page()))
    assert parsed.row("environment") == ["environment", "dev"] and parsed.row("set") == ["set", "1"]
    assert parsed.row("produce") == ["produce", "SUCCESS", "1.5", "12", ""]
    assert parsed.row("check") == ["check", "FAILED", "2.0", "", "notebooks/07_test.py, cell 3 failed"]
    assert parsed.row("after")[:3] == ["after", "UPSTREAM_FAILED", ""]
    assert [link for link in parsed.links if link.endswith(PAGE_FILE)] == [
        "produce/index.html",
        "driver/index.html",
        "check/index.html",
    ]
    assert not parsed.refresh  # an ended run's page stays still


def test_a_pipeline_exit_value_becomes_the_per_table_summary():
    parsed = Parsed(render(job_page()))
    assert parsed.row("driver")[3] == "pipeline summary"
    assert "#pipeline-1" in parsed.links
    assert parsed.row("bronze.registered_users_bz") == ["bronze.registered_users_bz", "5", "0", "0", "2", "4.2"]
    assert parsed.row("silver.users") == ["silver.users", "3", "2", "1", "0", "skipped: nothing new"]
    assert parsed.row("bronze.kafka_multiplex") == ["bronze.kafka_multiplex", "", "", "", "4", ""]


def test_a_notebooks_own_look_alike_summary_with_odd_values_still_renders_escaped():
    odd = {"tables": {HOSTILE: {"inserted": HOSTILE}}, "flow_seconds": {HOSTILE: "soon"}, "skipped": 3, "layers": 7}
    page = RunPage.begin("notebook", "nb", {})
    page.rows = [PageRow("nb", "SUCCESS", 1.0, json.dumps(odd))]
    parsed = Parsed(render(page))
    assert parsed.row(HOSTILE) == [HOSTILE, HOSTILE, "0", "0", "0", "soon"]
    assert "script" not in parsed.tags


def test_hostile_names_and_values_are_text_never_markup():
    page = RunPage.begin("job", HOSTILE, {HOSTILE: HOSTILE})
    page.rows = [PageRow(HOSTILE, HOSTILE, 1.0, HOSTILE, note=HOSTILE)]
    text = render(page)
    parsed = Parsed(text)
    assert "script" not in parsed.tags and "<script>" not in text
    assert parsed.row(HOSTILE, cells=2) == [HOSTILE, HOSTILE]  # the parameter, shown as written
    assert parsed.row(HOSTILE, cells=5) == [HOSTILE, HOSTILE, "1.0", HOSTILE, HOSTILE]  # the row


def test_a_link_to_a_file_whose_name_has_url_characters_still_reaches_it(tmp_path):
    page = RunPage.begin("notebook", "nb", {})
    page.rows = [PageRow('01-a#b?c%d"e', href='01-a#b?c%d"e.html')]
    (href,) = Parsed(render(page)).links
    assert href == "01-a%23b%3Fc%25d%22e.html"


def test_secrets_are_redacted_at_every_write_including_those_learned_after_the_run_started(tmp_path):
    redactor, secret = Redactor(), "hunter2-secret"
    page = RunPage.begin("notebook", "nb", {"password": secret})
    page.rows = [PageRow("nb", exit_value=f'{{"token": "{secret}"}}', note=f"failed near {secret}")]
    page.write(tmp_path, redactor)  # before the notebook read the secret, the redactor cannot know it
    redactor.add(secret)  # the notebook read it
    page.write(tmp_path, redactor)
    for name in (PAGE_FILE, FACTS_FILE):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert secret not in text and REDACTED in text
    assert RunPage.read(tmp_path).parameters == {"password": REDACTED}
    assert page.parameters == {"password": secret}  # the run keeps its values: only what is written is redacted


def test_finishing_ends_unfinished_rows_with_the_run():
    page = RunPage.begin("job", "j", {})
    page.rows = [PageRow("done", "SUCCESS"), PageRow("running", RUNNING), PageRow("waiting", "PENDING")]
    page.finish("TIMEDOUT", 9.0)
    assert [row.state for row in page.rows] == ["SUCCESS", "TIMEDOUT", CANCELED]


def test_a_running_page_refreshes_and_one_whose_process_died_is_abandoned(tmp_path):
    running = RunPage.begin("notebook", "live", {})
    assert running.shown_state() == RUNNING and Parsed(render(running)).refresh
    running.pid = dead_pid()
    assert running.shown_state() == ABANDONED
    parsed = Parsed(render(running))
    assert not parsed.refresh and "ABANDONED" in render(running)


def write_run(runs: Path, stamp: str, name: str, state: str, pid: int | None = None) -> Path:
    folder = runs / f"{stamp}-{name}"
    folder.mkdir(parents=True)
    page = RunPage.begin("notebook", name, {})
    page.state, page.pid = state, pid or page.pid
    page.write(folder, Redactor())
    return folder


def test_recent_runs_are_newest_first_limited_and_tell_abandoned_runs(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "20260102T000000000000Z", "b", "FAILED")
    write_run(runs, "20260103T000000000000Z", "c", RUNNING, pid=dead_pid())
    write_run(runs, "20260101T000000000000Z", "a", "SUCCESS")
    write_run(runs, "20260104T000000000000Z", "d", RUNNING)  # this process: still running
    (runs / "20260105T000000000000Z-before-run-pages").mkdir()
    listed = recent_runs(runs, 4)
    assert [listing.folder.name.split("-", 1)[1] for listing in listed] == ["before-run-pages", "d", "c", "b"]
    assert [listing.state for listing in listed] == ["-", RUNNING, ABANDONED, "FAILED"]
    assert recent_runs(tmp_path / "nothing", 5) == []


def test_fitlake_runs_lists_state_and_page_newest_first(tmp_path, capsys):
    runs = tmp_path / "qa" / "runs"
    write_run(runs, "20260101T000000000000Z", "older", "SUCCESS")
    newest = write_run(runs, "20260102T000000000000Z", "newer", RUNNING, pid=dead_pid())
    assert cli.main(["runs", "--env", "qa", "--data-root", str(tmp_path), "-n", "1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert len(lines) == 2  # the header and the newest run
    cells = [cell.strip() for cell in lines[1].strip("|").split("|")]
    assert cells[1:] == [ABANDONED, "", "notebook newer", str(newest / PAGE_FILE)]
    assert cli.main(["runs", "--data-root", str(tmp_path)]) == 0
    assert "No runs under" in capsys.readouterr().out  # dev has none


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium: `make test-tools` installs Debian's chromium")
    return found


def test_the_page_renders_in_a_real_headless_chromium(tmp_path):
    browser = chromium()
    job_page().write(tmp_path, Redactor())
    dumped = subprocess.run(
        # Chromium will not run as root with its sandbox (make test-tools installs as root); the page is our own.
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
        + ["--dump-dom", (tmp_path / PAGE_FILE).as_uri()],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
    ).stdout
    # The browser's DOM, serialised: attributes come back double-quoted, the page wrote them single-quoted.
    parsed = Parsed(dumped)
    assert dumped.count('<tr class="row">') == 4
    assert [row[:2] for row in parsed.rows if row and row[0] in ("produce", "driver", "check", "after")] == [
        ["produce", "SUCCESS"],
        ["driver", "SUCCESS"],
        ["check", "FAILED"],
        ["after", "UPSTREAM_FAILED"],
    ]
    assert parsed.row("silver.users") == ["silver.users", "3", "2", "1", "0", "skipped: nothing new"]
    assert '<span id="run-state"><span class="state bad">FAILED</span></span>' in dumped
