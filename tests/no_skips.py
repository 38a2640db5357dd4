"""A pytest plugin: with FITLAKE_NO_SKIPS=1 (set by .ci/run) every skip is a failure naming its reason.

A test that skips where something it needs is missing (``unshare -n``, ``mvn``) passes CI silently unless CI
refuses skips; locally the same test skips, and pytest's ``-ra`` lists why. Test-level skips (``skip``,
``skipif``, ``xfail``) fail the test; module-level ones (``importorskip``, ``skip(allow_module_level=True)``)
fail its collection.
"""

from __future__ import annotations

import os

import pytest

NO_SKIPS = "FITLAKE_NO_SKIPS"


def _refusing() -> bool:
    return os.environ.get(NO_SKIPS) == "1"


def _refused(report: pytest.TestReport | pytest.CollectReport) -> None:
    if isinstance(report.longrepr, tuple):  # (file, line, "Skipped: reason")
        reason = report.longrepr[2].removeprefix("Skipped: ")
    elif hasattr(report, "wasxfail"):
        reason = f"xfail: {report.wasxfail}"
    else:
        reason = str(report.longrepr)
    report.outcome = "failed"
    # The reason first, so that pytest's one-line summary shows it.
    report.longrepr = f"skipped ({reason}), and {NO_SKIPS}=1 refuses skips"
    if hasattr(report, "wasxfail"):
        del report.wasxfail


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    if report.skipped and _refusing():
        _refused(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    report = yield
    if report.skipped and _refusing():
        _refused(report)
    return report
