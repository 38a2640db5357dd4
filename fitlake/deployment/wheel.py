"""The wheel job clusters install: the ``fitlake`` package plus a copy of ``config/*.toml``.

``config/`` stays at the repo root as the single source of truth. The wheel is built from a staging copy
of the repo in which ``config/`` is copied to ``fitlake/_config/`` (where ``fitlake.config`` looks when no
repo is around) and the dependencies the Databricks runtime already provides, or only the local runtime
needs, are left out: pip would otherwise replace the cluster's own Spark with PyPI's ``pyspark``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from fitlake.config import ENVIRONMENTS, PACKAGED_CONFIG
from fitlake.deployment import DeploymentError
from fitlake.errors import ConfigError

# Provided by the Databricks runtime (pyspark, delta-spark, matplotlib) or used only by the local runtime (nbformat,
# nbconvert, which write run records).
NOT_ON_CLUSTER = frozenset({"pyspark", "delta-spark", "matplotlib", "nbformat", "nbconvert"})
_DEPENDENCIES = re.compile(r"^dependencies = \[.*?^\]\n", re.MULTILINE | re.DOTALL)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+")


def build_wheel(repo: Path, out_dir: Path) -> Path:
    """Build the cluster wheel from the checkout at ``repo`` into ``out_dir``; returns the wheel's path."""
    _check_repo(repo)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fitlake-wheel-") as scratch:
        stage = Path(scratch)
        shutil.copytree(
            repo / "fitlake", stage / "fitlake", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", PACKAGED_CONFIG)
        )
        shutil.copy(repo / "README.md", stage / "README.md")
        (stage / "pyproject.toml").write_text(cluster_pyproject((repo / "pyproject.toml").read_text()))
        packaged = stage / "fitlake" / PACKAGED_CONFIG
        packaged.mkdir()
        for environment in ENVIRONMENTS:
            shutil.copy(repo / "config" / f"{environment}.toml", packaged)
        before = set(out_dir.glob("fitlake-*.whl"))
        _pip_wheel(stage, out_dir)
    built = sorted(set(out_dir.glob("fitlake-*.whl")) - before) or sorted(out_dir.glob("fitlake-*.whl"))
    if not built:
        raise DeploymentError(f"pip reported success but wrote no fitlake wheel into {out_dir}.")
    return built[-1]


def cluster_pyproject(text: str) -> str:
    """``pyproject.toml`` with the dependencies a cluster must not install (``NOT_ON_CLUSTER``) removed.

    Works on lines, not on parsed TOML, so every other line (and the quoting of those kept) stays as written.
    """
    match = _DEPENDENCIES.search(text)
    if not match:
        raise ConfigError("pyproject.toml has no 'dependencies = [' ... ']' block in [project]; restore it.")
    lines = match.group(0).splitlines(keepends=True)
    kept = [line for line in lines[1:-1] if _requirement_name(line) not in NOT_ON_CLUSTER]
    return text[: match.start()] + "".join([lines[0], *kept, lines[-1]]) + text[match.end() :]


def _requirement_name(line: str) -> str:
    """The distribution name of a line such as ``    "pyspark==4.1.1",`` (lower case; "" for other lines)."""
    found = _NAME.match(line.strip().lstrip("\"'"))
    return found.group(0).lower() if found else ""


def _check_repo(repo: Path) -> None:
    missing = [name for name in ("pyproject.toml", "README.md", "fitlake", "config") if not (repo / name).exists()]
    if missing:
        raise ConfigError(f"{repo} is not a fitlake checkout (missing {', '.join(missing)}); run from the repo root.")


def _pip_wheel(stage: Path, out_dir: Path) -> None:
    # No build isolation: the build uses this environment's setuptools (the dev/deploy extras), so building
    # needs no network and gives the same result every time.
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
    result = subprocess.run([*command, "--wheel-dir", str(out_dir), str(stage)], capture_output=True, text=True)
    if result.returncode != 0:
        raise DeploymentError(
            f"Building the fitlake wheel failed (pip exit {result.returncode}):\n{result.stderr.strip()}\n"
            "Install the build tools with: pip install -e '.[deploy]'"
        )


def main() -> None:
    """``python -m fitlake.deployment.wheel [OUT_DIR]``: build the cluster wheel (CI's build stage)."""
    from fitlake.local.layout import repo_root

    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
    print(build_wheel(repo_root(), out_dir))


if __name__ == "__main__":
    main()
