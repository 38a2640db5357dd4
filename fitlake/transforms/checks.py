"""Quality checks shared by bronze and silver: a row's problems become a reason, and a row with a reason goes
to quarantine instead of its table. A check is a pair (a condition true for a bad row, the reason to record).

Readers parse with an explicit schema plus a ``_corrupt_record`` column (PERMISSIVE mode), so an unreadable
line or payload keeps its raw text and leaves as a quarantine row.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fitlake import contract

CORRUPT = "_corrupt_record"
REASON = "_reason"

# Strict JSON, for every JSON reader of landing data (files and payloads). Spark's JSON parser accepts
# single-quoted strings and bare NaN/Infinity by default; neither is JSON, and a document written so must be
# quarantined as unreadable, not loaded as if it were well formed.
STRICT_JSON = {"allowSingleQuotes": "false", "allowNonNumericNumbers": "false"}

# What a UTF-8 decoder puts in place of bytes that are not UTF-8: text holding it is no longer the file's.
REPLACEMENT_CHARACTER = "\ufffd"


# A check: (a condition that is true when a row is bad, the reason to record for it).
Check = tuple[Column, Column]


def first_reason(checks: Sequence[Check]) -> Column:
    """The reason of the first failed check, or null when every check passes."""
    reason = F.lit(None).cast("string")
    for failed, text in reversed(checks):
        reason = F.when(failed, text).otherwise(reason)
    return reason


def not_an_epoch(column: str, limit: float = contract.EPOCH_SECONDS_BELOW) -> Check:
    """A check that ``column`` is a plausible epoch (0 <= value < limit, not NaN).

    Without it an absurd value (1e17, NaN) would make ``timestamp_seconds`` overflow or yield a null key,
    which fails the whole micro-batch on every replay instead of quarantining one row.
    """
    value = F.col(column).cast("double")
    name = column.split(".")[-1]
    return (F.isnan(value) | (value < 0) | (value >= limit), F.lit(f"{name} is not an epoch time"))


def with_reason(
    df: DataFrame, required: Sequence[str], what: str, extra: Sequence[Check] = (), first: Sequence[Check] = ()
) -> DataFrame:
    """Add ``_reason``: null for a good row, else why it goes to quarantine (first problem found). ``first``:
    checks that come before the malformed-row check, because they explain why a row is malformed."""
    checks = [*first, (F.col(CORRUPT).isNotNull(), F.lit(f"malformed {what}"))]
    checks += [(F.col(name).isNull(), F.lit(f"missing {name}")) for name in required]
    return df.withColumn(REASON, first_reason([*checks, *extra]))


def not_utf8(text: Column) -> Check:
    """A check that ``text`` came from UTF-8: the JSON reader keeps a refused line's bytes as they were (so they
    may not be UTF-8), the CSV reader decodes what is not UTF-8 as U+FFFD."""
    return (~F.is_valid_utf8(text) | text.contains(REPLACEMENT_CHARACTER), F.lit("not UTF-8 text"))
