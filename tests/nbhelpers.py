"""Helpers that write Databricks source notebooks for tests, and the repository's own notebooks."""

from __future__ import annotations

from pathlib import Path

from fitlake.local.layout import repo_root


def repo_notebooks() -> list[Path]:
    """Every notebook of the repository: notebooks/ and setup/, their subfolders (notebooks/examples/) too."""
    return sorted(path for folder in ("notebooks", "setup") for path in (repo_root() / folder).rglob("*.py"))


def write_notebook(path: Path, *cells: str, language: str = "python") -> Path:
    """Write a Databricks source notebook whose cells are ``cells`` (already in source form)."""
    marker = "#" if language == "python" else "--"
    separator = f"\n\n{marker} COMMAND ----------\n\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{marker} Databricks notebook source\n" + separator.join(cells) + "\n", encoding="utf-8")
    return path


def magic(text: str, language: str = "python") -> str:
    """Prefix each line of ``text`` with MAGIC, as Databricks exports a magic cell."""
    marker = "#" if language == "python" else "--"
    return "\n".join(f"{marker} MAGIC {line}".rstrip() for line in text.strip("\n").splitlines())
