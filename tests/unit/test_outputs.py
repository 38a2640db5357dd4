"""Output routing: every write, from whichever thread, passes the secret redactor."""

from __future__ import annotations

import sys
import threading

from fitlake.local.outputs import OutputRouter, OutputSink
from fitlake.local.secrets import Redactor

SECRET = "s3cr3t-value"


def redactor() -> Redactor:
    redact = Redactor()
    redact.add(SECRET)
    return redact


def test_a_write_from_a_thread_running_no_cell_reaches_the_console_redacted(capsys):
    # Spark's foreachBatch callbacks run on such threads: their prints go to the console, not to a cell.
    redact = redactor()
    router = OutputRouter(redact)
    with router.installed(), router.cell(OutputSink(redact, None)):
        worker = threading.Thread(target=lambda: print(f"batch saw {SECRET}", file=sys.stdout))
        worker.start()
        worker.join()
        err = threading.Thread(target=lambda: print(f"batch failed: {SECRET}", file=sys.stderr))
        err.start()
        err.join()
    out, errors = capsys.readouterr()
    assert SECRET not in out + errors
    assert "batch saw [REDACTED]" in out and "batch failed: [REDACTED]" in errors


def test_a_write_from_the_cells_thread_goes_to_its_sink_redacted(capsys):
    redact = redactor()
    router, sink = OutputRouter(redact), OutputSink(redact, None)
    with router.installed(), router.cell(sink):
        print(f"cell saw {SECRET}")
    assert sink.outputs[0]["text"] == "cell saw [REDACTED]\n"
    assert SECRET not in capsys.readouterr().out
