"""The one exception hierarchy for user-facing errors.

Every message says what was wrong and what to do about it.
"""


class FitlakeError(Exception):
    """Base of every error fitlake raises on purpose."""


class ConfigError(FitlakeError):
    """A setting, flag or widget value is missing or invalid."""


class NotebookFormatError(FitlakeError):
    """A file is not a Databricks source notebook, or uses a construct the local runtime cannot run."""


class NotebookNotFoundError(FitlakeError):
    """A notebook path (from ``%run``, ``dbutils.notebook.run`` or the CLI) does not resolve to a file."""


class NotebookCellError(FitlakeError):
    """A cell of a notebook failed; carries the notebook path, the 1-based cell number and the traceback."""

    def __init__(self, notebook: str, cell: int, traceback_text: str, cause: BaseException | None = None):
        self.notebook = notebook
        self.cell = cell
        self.traceback_text = traceback_text
        self.cause = cause
        super().__init__(f"{notebook}, cell {cell} failed:\n{traceback_text.rstrip()}")


class NotebookTimeoutError(FitlakeError):
    """A child notebook started by ``dbutils.notebook.run`` exceeded its ``timeout_seconds``."""


class WidgetError(FitlakeError):
    """A widget is undeclared, or a value is not one of its choices (``InputWidgetNotDefined`` on Databricks)."""


class SecretNotFoundError(FitlakeError):
    """A secret asked for with ``dbutils.secrets.get`` is not set."""


class DependencyError(FitlakeError):
    """Spark's JVM packages could not be resolved, downloaded or found in a local cache."""


class LandingError(FitlakeError):
    """A landing file the pipeline refuses to read (its stream would fail on it); names the file and the fix."""


class StorageFullError(FitlakeError):
    """The disk under the data root (tables, checkpoints, landing zone) ran out of space during a run."""


NO_SPACE = "No space left on device"  # how the JVM's IOException and Python's OSError (ENOSPC) both say it


def storage_full(error: BaseException) -> bool:
    """Whether ``error``, or any error it was raised from, says the disk is full (a Py4J error carries the
    JVM's message in its text, a Python one its errno)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(error, "errno", None) == 28 or NO_SPACE in str(error):  # 28: ENOSPC
            return True
        error = error.__cause__ or error.__context__
    return False


def storage_full_message(where: str) -> str:
    return (
        f"The disk holding {where} is full ({NO_SPACE}). Nothing that was committed is lost: every table write "
        "and checkpoint is an atomic commit, so the interrupted batch was not applied. Free some space and run "
        "again; the run resumes from the last committed batch."
    )
