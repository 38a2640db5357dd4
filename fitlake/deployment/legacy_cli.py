"""Running the real legacy ``databricks`` CLI (databricks-cli 0.18, the ``deploy`` extra) safely.

Two traps, both read from the installed ``databricks_cli`` source:

- **Hand-over.** ``databricks_cli.cli.main`` looks along ``PATH`` for a ``databricks`` binary of 1 MB or
  more (the newer Go CLI) and ``os.execv``\\ s into it, with our arguments, unless the environment variable
  ``DATABRICKS_CLI_DO_NOT_EXECUTE_NEWER_VERSION`` is set. The newer CLI has other commands and flags, so
  every call here sets that variable and runs the legacy CLI by the path pip installed it at, next to this
  Python, never whatever ``databricks`` comes first on ``PATH``.
- **Jobs API version.** The legacy CLI defaults to Jobs API 2.0, which has no job parameters and no
  multi-task jobs. Every jobs/runs call passes ``--version=2.1`` (and ``DATABRICKS_JOBS_API_VERSION=2.1``
  is set too, which the CLI reads in ``configure/provider.py``).

Credentials reach the CLI only as ``DATABRICKS_HOST`` / ``DATABRICKS_TOKEN`` in its environment, never on
its command line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fitlake.deployment import DeploymentError
from fitlake.errors import ConfigError

NO_HANDOVER_ENV_VAR = "DATABRICKS_CLI_DO_NOT_EXECUTE_NEWER_VERSION"
JOBS_API_VERSION = "2.1"
HOST_ENV_VAR, TOKEN_ENV_VAR = "DATABRICKS_HOST", "DATABRICKS_TOKEN"
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class Credentials:
    host: str
    token: str = ""

    def __repr__(self) -> str:  # the token never appears in a log or a traceback
        return f"Credentials(host={self.host!r}, token='***')"


def credentials_from_environment() -> Credentials:
    """``DATABRICKS_HOST`` and ``DATABRICKS_TOKEN``, checked; the only place credentials come from."""
    missing = [name for name in (HOST_ENV_VAR, TOKEN_ENV_VAR) if not os.environ.get(name)]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not set: export the workspace URL (https://adb-<id>.<n>.azuredatabricks.net) "
            "and a token of the environment's CI service principal (in CI: from its variable group)."
        )
    return Credentials(workspace_host(os.environ[HOST_ENV_VAR]), os.environ[TOKEN_ENV_VAR])


def workspace_host(value: str) -> str:
    """``value`` if it is a workspace URL alone (``https://<host name>``), else a ``ConfigError``.

    The token goes wherever this URL points, so it must say one thing plainly: https (plain http would send
    the token in clear), a host name and nothing else. No ``user@`` (``https://adb-1.net@evil.example``
    goes to evil.example), no port, path or query (the legacy CLI builds its URLs from scheme and host name
    only, sdk/api_client.py, and would drop them), no fragment (``https://evil.example#@adb-1.net``).
    Plain http is accepted for a loopback name only, where the token stays on this machine: the workspace
    stand-in of the tests (tests/workspace_standin.py) is served that way.
    """
    host = value.rstrip("/")
    expected = f"{HOST_ENV_VAR} must be the workspace URL alone, e.g. https://adb-1234.5.azuredatabricks.net"
    try:
        parts = urlsplit(host)
        port = parts.port
    except ValueError as error:
        raise ConfigError(f"{expected}: it does not parse as a URL ({error}).") from None
    if "@" in parts.netloc:
        raise ConfigError(f"{expected}: it names a user (user@host); the token would go to the host after '@'.")
    if not parts.hostname or not _HOST_NAME.fullmatch(parts.hostname):
        raise ConfigError(f"{expected}: it names no valid host (letters, digits, '-' and '.').")
    if port or parts.path or parts.query or parts.fragment or "#" in host or "?" in host:
        raise ConfigError(f"{expected} (no port, path, query or fragment: the legacy CLI would drop them).")
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK_NAMES):
        raise ConfigError(f"{expected}: it must use https, or the token would cross the network in clear.")
    return host


def legacy_cli_path() -> Path:
    """The legacy CLI installed into this Python's environment (not the first ``databricks`` on PATH)."""
    path = Path(sys.executable).parent / "databricks"
    if not path.is_file():
        raise ConfigError(
            f"The legacy databricks CLI is not installed next to {sys.executable}: run pip install -e '.[deploy]'."
        )
    return path


@dataclass(frozen=True)
class LegacyCli:
    credentials: Credentials
    executable: Path

    def run(self, *args: str) -> str:
        """Run one CLI command; its stdout, or a ``DeploymentError`` with the command and the CLI's message."""
        result = subprocess.run(
            [str(self.executable), *args], env=self._environment(), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            message = (result.stderr.strip() or result.stdout.strip() or "(no output)")[-4000:]
            raise DeploymentError(f"`databricks {' '.join(args)}` failed (exit {result.returncode}):\n{message}")
        return result.stdout

    def jobs(self, *args: str, prints_json: bool = True) -> Any:
        """A ``jobs``/``runs`` command on Jobs API 2.1; its JSON output, parsed (``jobs reset`` prints none)."""
        output = self.run(*args, f"--version={JOBS_API_VERSION}")
        if not prints_json:
            return None
        try:
            return json.loads(output)
        except json.JSONDecodeError as error:
            raise DeploymentError(f"`databricks {' '.join(args)}` printed no JSON: {output[:500]!r}") from error

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            HOST_ENV_VAR: self.credentials.host,
            TOKEN_ENV_VAR: self.credentials.token,
            NO_HANDOVER_ENV_VAR: "1",
            "DATABRICKS_JOBS_API_VERSION": JOBS_API_VERSION,
        }
