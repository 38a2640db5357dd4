"""CI runs every test or fails: with FITLAKE_NO_SKIPS=1 (.ci/run) each kind of skip fails, naming its reason;
without it, the same tests skip as usual (tests/no_skips.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from no_skips import NO_SKIPS

TESTS_DIR = Path(__file__).resolve().parents[1]
REFUSED = f"), and {NO_SKIPS}=1 refuses skips"
TEST_LEVEL = """
import pytest

def test_runs():
    assert True

@pytest.mark.skipif(True, reason="needs the frobnicator")
def test_skipif():
    pass

def test_skip_in_body():
    pytest.skip("no unshare here")

@pytest.mark.xfail(reason="known to break")
def test_xfail():
    assert False
"""
MODULE_LEVEL = """
import pytest

pytest.importorskip("a_module_nobody_installed")

def test_never_collected():
    pass
"""
BESIDE_IT = "def test_runs():\n    assert True\n"


def run_suite(tmp_path: Path, module: str, no_skips: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_suite.py").write_text(module)
    (tmp_path / "test_beside.py").write_text(BESIDE_IT)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # its own rootdir: none of the repo's options
    env = {k: v for k, v in os.environ.items() if k != NO_SKIPS}
    if no_skips is not None:
        env[NO_SKIPS] = no_skips
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "pytest", "-p", "no_skips", "-p", "no:cacheprovider", "-rA", str(tmp_path)]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def closing_line(result: subprocess.CompletedProcess) -> str:
    return result.stdout.strip().splitlines()[-1]


def test_with_no_skips_a_skipped_or_xfailed_test_fails_naming_its_reason(tmp_path):
    result = run_suite(tmp_path, TEST_LEVEL, "1")
    assert result.returncode == 1, result.stdout
    for reason in ("needs the frobnicator", "no unshare here", "xfail: known to break"):
        assert f"skipped ({reason}{REFUSED}" in result.stdout, reason
    assert "2 passed" in closing_line(result), closing_line(result)
    assert "skipped" not in closing_line(result) and "xfailed" not in closing_line(result), closing_line(result)


def test_with_no_skips_a_module_level_skip_fails_the_collection(tmp_path):
    result = run_suite(tmp_path, MODULE_LEVEL, "1")
    assert result.returncode != 0, result.stdout
    assert "a_module_nobody_installed'" + REFUSED in result.stdout, result.stdout
    assert "1 error" in closing_line(result) and "skipped" not in closing_line(result), closing_line(result)


@pytest.mark.parametrize("value", [None, "0", ""])
def test_without_it_the_same_tests_skip_as_usual(tmp_path, value):
    result = run_suite(tmp_path, TEST_LEVEL, value)
    assert result.returncode == 0, result.stdout
    assert "2 passed, 2 skipped, 1 xfailed" in closing_line(result), closing_line(result)
    result = run_suite(tmp_path, MODULE_LEVEL, value)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in closing_line(result), closing_line(result)
