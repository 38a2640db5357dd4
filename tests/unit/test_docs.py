"""The README is the front door and docs/ holds the rest: links resolve, and the README names every command,
notebook and part of the package, so the lists cannot drift from the code."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from fitlake.cli import build_parser
from fitlake.local.layout import repo_root

ROOT = repo_root()
README = ROOT / "README.md"
FOLDER_READMES = [path for path in sorted(ROOT.glob("*/README.md")) if not path.parent.name.startswith(".")]
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), *FOLDER_READMES]  # pipelines/, benchmarks/
README_MAX_LINES = 210  # a front door: ~200 lines, never more than this

_FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def links(text: str) -> list[str]:
    """Every link target of a Markdown text, outside code blocks and code spans."""
    prose = _CODE_SPAN.sub("", _FENCED.sub("", text))
    return _INLINE_LINK.findall(prose) + _REFERENCE_LINK.findall(prose)


def headings(text: str) -> list[tuple[int, str]]:
    return [(len(marks), title) for marks, title in _HEADING.findall(_FENCED.sub("", text))]


def slug(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a page's headings; a repeated heading gets ``-1``, ``-2`` ... as on GitHub."""
    seen: dict[str, int] = {}
    for _, title in headings(text):
        seen[slug(title)] = seen.get(slug(title), -1) + 1
    return {name if count == 0 else f"{name}-{count}" for name, last in seen.items() for count in range(last + 1)}


def broken_links(page: Path, text: str | None = None) -> list[str]:
    """What is wrong with each relative link of ``page`` (or of ``text`` read as if it were ``page``): a missing
    file or folder, a folder link to a file, a missing anchor, a way out of the repository."""
    problems = []
    for target in links(page.read_text(encoding="utf-8") if text is None else text):
        if _SCHEME.match(target):
            continue  # https:, mailto: ... are not files of the repo
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: points outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: {resolved.relative_to(ROOT)} does not exist")
        elif path.endswith("/") and not resolved.is_dir():
            problems.append(f"{target}: a folder link, but {resolved.relative_to(ROOT)} is a file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{target}: no heading of {resolved.relative_to(ROOT)} has the anchor #{anchor}")
    return problems


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_there_are_pages_with_links():
    docs = [page for page in PAGES if page.parent.name == "docs"]
    assert docs, "docs/ holds the subjects the README links to"
    assert all(links(page.read_text(encoding="utf-8")) for page in [README, *docs])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    problems = broken_links(page)
    assert not problems, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(problems)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(readme())}
    unlinked = [str(page.relative_to(ROOT)) for page in PAGES if page.parent.name == "docs" and page not in linked]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"


def test_a_broken_link_anchor_folder_or_way_out_is_reported_and_code_is_not_a_link():
    page = ROOT / "docs" / "draft.md"  # read as if it were a docs page; it need not exist
    text = (
        "[a](missing.md) [b](../README.md#no-such-heading) [c](../../outside.md) [d](../README.md/) "
        "[ok](../README.md#input-contract) [web](https://example.com/x) `[code](x.md)`\n```\n[block](y.md)\n```"
    )
    assert broken_links(page, text) == [
        "missing.md: docs/missing.md does not exist",
        "../README.md#no-such-heading: no heading of README.md has the anchor #no-such-heading",
        "../../outside.md: points outside the repository",
        "../README.md/: a folder link, but README.md is a file",
    ]


def test_anchors_follow_githubs_rules():
    text = "# Versions: PySpark 4.1.1\n## `fitlake` CLI\n## Notes\n## Notes\n```\n# not a heading\n```"
    assert anchors(text) == {"versions-pyspark-411", "fitlake-cli", "notes", "notes-1"}


def test_every_readme_section_is_in_its_table_of_contents():
    sections = [title for level, title in headings(readme()) if level == 2 and title != "Contents"]
    contents = readme().split("## Contents", 1)[1].split("\n## ", 1)[0]
    listed = {target.removeprefix("#") for target in links(contents) if target.startswith("#")}
    unlisted = [title for title in sections if slug(title) not in listed]
    assert sections and not unlisted, f"README sections missing from its Contents: {unlisted}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    """The CLI's subcommands from its own parser (argparse keeps them in its subparsers action)."""
    parser = build_parser()
    (commands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(commands.choices)


def _positional_choices(parser: argparse.ArgumentParser) -> list[str]:
    """The choices of a subcommand's positional arguments: ``kafka start|stop|status|produce``, ``db load``."""
    return [str(choice) for action in parser._actions if not action.option_strings for choice in action.choices or ()]


def test_every_cli_subcommand_and_its_actions_are_in_the_readme():
    lines = readme().splitlines()
    assert len(_subcommands()) >= 10
    missing = []
    for name, parser in _subcommands().items():
        usage = [line for line in lines if f"fitlake {name}" in line]
        if not usage:
            missing.append(f"fitlake {name}")
        missing += [
            f"fitlake {name} {choice}"
            for choice in _positional_choices(parser)
            if not any(re.search(rf"\b{re.escape(choice)}\b", line.split(f"fitlake {name}", 1)[1]) for line in usage)
        ]
    assert not missing, f"CLI subcommands the README does not name: {missing}"


def test_every_cli_option_is_in_the_readme():
    """Each option of each subcommand, by one of its names (``-p`` or ``--param``)."""
    text = readme()
    options = {
        tuple(action.option_strings)
        for parser in _subcommands().values()
        for action in parser._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    }
    assert ("--env",) in options
    missing = [
        "/".join(names)
        for names in options
        if not any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) for name in names)
    ]
    assert not missing, f"CLI options the README does not name: {sorted(missing)}"


def test_every_notebook_is_in_the_readme():
    notebooks = [path for folder in ("notebooks", "setup") for path in sorted((ROOT / folder).iterdir())]
    assert len(notebooks) >= 10
    unnamed = [str(p.relative_to(ROOT)) for p in notebooks if str(p.relative_to(ROOT)) not in readme()]
    assert not unnamed, f"notebooks the README does not name: {unnamed}"


def test_every_module_and_package_of_fitlake_is_in_the_readmes_layout():
    layout = readme().split("## Repository layout", 1)[1].split("\n## ", 1)[0]
    named = set(links(layout))
    parts = [
        f"fitlake/{path.name}/" if path.is_dir() else f"fitlake/{path.name}"
        for path in sorted((ROOT / "fitlake").iterdir())
        if not path.name.startswith(("_", ".")) and (path.is_dir() or path.suffix == ".py")
    ]
    assert len(parts) > 10
    unlisted = [part for part in parts if part not in named]
    assert not unlisted, f"fitlake/ parts the README's layout does not link (module x.py, package x/): {unlisted}"


def test_the_readme_stays_a_front_door():
    assert len(readme().splitlines()) <= README_MAX_LINES
