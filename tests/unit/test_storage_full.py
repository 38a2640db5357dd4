"""A full disk is recognised however it arrives: Python's ENOSPC, or the JVM's message inside a Py4J or Spark
error, at any depth of the exception chain (the full-disk run itself is in tests/integration/test_chaos.py)."""

from __future__ import annotations

import errno

from fitlake.errors import NO_SPACE, storage_full, storage_full_message


def _raised_from(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("the query failed") from inner
    except RuntimeError as outer:
        return outer


def test_python_enospc_and_the_jvms_message_are_a_full_disk_at_any_depth():
    assert storage_full(OSError(errno.ENOSPC, "No space left on device"))
    assert storage_full(_raised_from(RuntimeError(f"org.apache.hadoop.fs.FSError: java.io.IOException: {NO_SPACE}")))
    assert storage_full(_raised_from(OSError(errno.ENOSPC, "x")))


def test_other_errors_are_not():
    assert not storage_full(OSError(errno.EACCES, "Permission denied"))
    assert not storage_full(_raised_from(ValueError("no such table")))


def test_the_message_says_what_to_do():
    message = storage_full_message("the lake")
    assert "the lake" in message and NO_SPACE in message and "run again" in message
