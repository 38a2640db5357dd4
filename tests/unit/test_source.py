from pathlib import Path

import pytest

from fitlake.errors import NotebookFormatError
from fitlake.local.source import parse_notebook, parse_notebook_file, split_sql_statements

PY_HEADER = "# Databricks notebook source"
PY_SEP = "# COMMAND ----------"
SQL_HEADER = "-- Databricks notebook source"
SQL_SEP = "-- COMMAND ----------"


def notebook(*lines: str, path: str = "nb.py"):
    """Parse a notebook given as its file lines (joined with newlines, trailing newline added)."""
    return parse_notebook("\n".join(lines) + "\n", Path(path))


def only_cell(*body_lines: str):
    (cell,) = notebook(PY_HEADER, *body_lines).cells
    return cell


# Python and SQL notebooks


def test_python_notebook_splits_cells_on_command_separator():
    nb = notebook(PY_HEADER, "x = 1", "", PY_SEP, "", "y = 2")
    assert nb.language == "python"
    assert [(c.number, c.kind, c.body) for c in nb.cells] == [(1, "python", "x = 1"), (2, "python", "y = 2")]


def test_notebook_name_is_file_stem():
    assert notebook(PY_HEADER, "x = 1", path="dir/01_bronze.py").name == "01_bronze"


def test_sql_notebook_uses_double_dash_markers():
    nb = notebook(SQL_HEADER, "SELECT 1", "", SQL_SEP, "", "-- MAGIC %md", "-- MAGIC # Title", path="nb.sql")
    assert nb.language == "sql"
    assert [(c.kind, c.body) for c in nb.cells] == [("sql", "SELECT 1"), ("md", "# Title")]


def test_sql_notebook_python_magic_is_python_cell():
    nb = notebook(SQL_HEADER, "-- MAGIC %python", "-- MAGIC x = 1", path="nb.sql")
    assert (nb.cells[0].kind, nb.cells[0].body) == ("python", "x = 1")


def test_python_separator_does_not_split_sql_notebook():
    nb = notebook(SQL_HEADER, "SELECT 1", PY_SEP, "SELECT 2", path="nb.sql")
    assert len(nb.cells) == 1


def test_notebook_without_separators_is_one_cell():
    nb = notebook(PY_HEADER, "import os", "", "x = os.sep")
    assert [(c.number, c.body) for c in nb.cells] == [(1, "import os\n\nx = os.sep")]


def test_parse_notebook_file_reads_path(tmp_path):
    path = tmp_path / "nb.py"
    path.write_text(f"{PY_HEADER}\nx = 1\n", encoding="utf-8")
    nb = parse_notebook_file(path)
    assert nb.path == path
    assert nb.cells[0].body == "x = 1"


# Magics


def test_md_magic_is_markdown_cell_without_magic_line():
    cell = only_cell("# MAGIC %md", "# MAGIC # Title", "# MAGIC Some text")
    assert (cell.kind, cell.body) == ("md", "# Title\nSome text")


def test_md_magic_with_inline_body():
    cell = only_cell("# MAGIC %md # Title")
    assert (cell.kind, cell.body) == ("md", "# Title")


def test_md_sandbox_is_markdown_cell():
    cell = only_cell("# MAGIC %md-sandbox", "# MAGIC <b>bold</b>")
    assert (cell.kind, cell.body) == ("md", "<b>bold</b>")


def test_sql_magic_is_sql_cell():
    cell = only_cell("# MAGIC %sql", "# MAGIC SELECT 1")
    assert (cell.kind, cell.body) == ("sql", "SELECT 1")


def test_python_magic_is_python_cell():
    cell = only_cell("# MAGIC %python", "# MAGIC x = 1")
    assert (cell.kind, cell.body) == ("python", "x = 1")


def test_run_magic_body_is_its_arguments():
    cell = only_cell('# MAGIC %run ./config $x="1"')
    assert (cell.kind, cell.body) == ("run", './config $x="1"')


def test_pip_magic_body_is_its_arguments():
    cell = only_cell("# MAGIC %pip install requests==2.32.0")
    assert (cell.kind, cell.body) == ("pip", "install requests==2.32.0")


@pytest.mark.parametrize("magic", ["%sh", "%scala"])
def test_unknown_magic_parses_with_magic_as_kind(magic):
    cell = only_cell(f"# MAGIC {magic}", "# MAGIC ls /tmp")
    assert (cell.kind, cell.body) == (magic, "ls /tmp")


def test_magic_cell_source_keeps_magic_line():
    cell = only_cell("# MAGIC %sql", "# MAGIC SELECT 1")
    assert cell.source == "%sql\nSELECT 1"


def test_magic_continuation_keeps_bare_magic_lines_as_blank_lines():
    cell = only_cell(
        "# MAGIC %md",
        "# MAGIC # Title",
        "# MAGIC",
        "# MAGIC First paragraph",
        "# MAGIC",
        "# MAGIC - item 1",
        "# MAGIC - item 2",
    )
    assert cell.body == "# Title\n\nFirst paragraph\n\n- item 1\n- item 2"


def test_magic_continuation_keeps_indentation_after_the_single_space():
    cell = only_cell("# MAGIC %python", "# MAGIC if True:", "# MAGIC     x = 1")
    assert cell.body == "if True:\n    x = 1"


# Empty cells and titles


def test_empty_cell_is_kept_and_numbered():
    nb = notebook(PY_HEADER, "x = 1", PY_SEP, "", "", PY_SEP, "y = 2")
    assert [(c.number, c.kind) for c in nb.cells] == [(1, "python"), (2, "empty"), (3, "python")]
    assert nb.cells[1].body == ""


def test_dbtitle_line_sets_title_and_is_not_in_body():
    cell = only_cell("# DBTITLE 1,My title", "x = 1")
    assert (cell.title, cell.body) == ("My title", "x = 1")


def test_dbtitle_on_magic_cell():
    cell = only_cell("# DBTITLE 1,Read me", "# MAGIC %md", "# MAGIC hello")
    assert (cell.title, cell.kind, cell.body) == ("Read me", "md", "hello")


def test_cell_without_dbtitle_has_no_title():
    assert only_cell("x = 1").title is None


# Line numbers


def test_code_cell_line_is_file_line_where_body_starts():
    nb = notebook(PY_HEADER, "x = 1", "", PY_SEP, "", "y = 2")
    assert [c.line for c in nb.cells] == [2, 6]


def test_magic_cell_line_is_line_after_magic_command():
    nb = notebook(PY_HEADER, "x = 1", "", PY_SEP, "", "# MAGIC %sql", "# MAGIC SELECT 1")
    assert nb.cells[1].line == 7


def test_inline_magic_body_line_is_magic_line():
    nb = notebook(PY_HEADER, "x = 1", PY_SEP, "# MAGIC %md # Title")
    assert nb.cells[1].line == 4


def test_cell_line_skips_dbtitle_line():
    nb = notebook(PY_HEADER, "# DBTITLE 1,Setup", "x = 1")
    assert nb.cells[0].line == 3


# Line endings and format errors


def test_crlf_line_endings_parse_like_lf():
    text = "\r\n".join([PY_HEADER, "x = 1", "", PY_SEP, "", "# MAGIC %md", "# MAGIC hi", ""])
    nb = parse_notebook(text, Path("nb.py"))
    assert [(c.kind, c.body, c.line) for c in nb.cells] == [("python", "x = 1", 2), ("md", "hi", 7)]


def test_file_without_trailing_newline_parses():
    nb = parse_notebook(f"{PY_HEADER}\nx = 1\n{PY_SEP}\ny = 2", Path("nb.py"))
    assert [c.body for c in nb.cells] == ["x = 1", "y = 2"]


def test_missing_header_fails_naming_the_header():
    with pytest.raises(NotebookFormatError, match="Databricks notebook source"):
        parse_notebook("x = 1\n", Path("nb.py"))


def test_empty_file_fails_as_missing_header():
    with pytest.raises(NotebookFormatError, match="Databricks notebook source"):
        parse_notebook("", Path("nb.py"))


def test_non_magic_line_inside_magic_cell_fails():
    with pytest.raises(NotebookFormatError, match="MAGIC"):
        notebook(PY_HEADER, "# MAGIC %md", "# MAGIC line one", "not a magic line", "# MAGIC line three")


def test_magic_cell_without_magic_command_fails():
    with pytest.raises(NotebookFormatError, match="magic command"):
        notebook(PY_HEADER, "# MAGIC just text")


# split_sql_statements


def test_split_on_semicolons():
    assert split_sql_statements("SELECT 1; SELECT 2") == ["SELECT 1", "SELECT 2"]


def test_trailing_semicolon_adds_no_empty_statement():
    assert split_sql_statements("SELECT 1;\n") == ["SELECT 1"]


@pytest.mark.parametrize("quoted", ["'a;b'", '"a;b"', "`a;b`"])
def test_semicolon_inside_quotes_does_not_split(quoted):
    assert split_sql_statements(f"SELECT {quoted}; SELECT 2") == [f"SELECT {quoted}", "SELECT 2"]


def test_semicolon_inside_line_comment_does_not_split():
    sql = "SELECT 1 -- one; two\n; SELECT 2"
    assert split_sql_statements(sql) == ["SELECT 1 -- one; two", "SELECT 2"]


def test_semicolon_inside_block_comment_does_not_split():
    sql = "SELECT /* a; b */ 1; SELECT 2"
    assert split_sql_statements(sql) == ["SELECT /* a; b */ 1", "SELECT 2"]


def test_quote_inside_comment_does_not_open_a_string():
    sql = "-- it's a note\nSELECT 1; SELECT 2"
    assert split_sql_statements(sql) == ["-- it's a note\nSELECT 1", "SELECT 2"]


def test_backslash_escaped_quote_does_not_close_string():
    sql = r"SELECT 'it\'s; fine'; SELECT 2"
    assert split_sql_statements(sql) == [r"SELECT 'it\'s; fine'", "SELECT 2"]


def test_doubled_quote_does_not_split():
    sql = "SELECT 'it''s; fine'; SELECT 2"
    assert split_sql_statements(sql) == ["SELECT 'it''s; fine'", "SELECT 2"]


def test_line_comment_only_statement_is_dropped():
    assert split_sql_statements("SELECT 1;\n-- the end\n") == ["SELECT 1"]


def test_block_comment_only_statement_is_dropped():
    assert split_sql_statements("SELECT 1; /* the\nend */") == ["SELECT 1"]


def test_block_then_line_comment_statement_is_dropped():
    assert split_sql_statements("SELECT 1; /* note */ -- more") == ["SELECT 1"]


def test_code_after_block_comment_containing_dashes_is_kept():
    sql = "/* header\n-- old */ SELECT 1"
    assert split_sql_statements(sql) == [sql]


def test_blank_sql_has_no_statements():
    assert split_sql_statements(" \n ;; \n") == []
