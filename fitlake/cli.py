"""The ``fitlake`` command line.

``fitlake notebook PATH -p name=value`` runs any notebook locally with widget values;
``fitlake jars`` resolves and caches Spark's JVM packages (the first run may download, later runs are
offline). Every command takes ``--env`` and ``--data-root``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fitlake.errors import FitlakeError, NotebookCellError
from fitlake.local.layout import DATA_ROOT_ENV_VAR, ENVIRONMENTS, LocalLayout, resolve_data_root


def _parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise FitlakeError(f"Parameter {pair!r} must look like name=value.")
        params[name] = value
    return params


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="dev", choices=ENVIRONMENTS, help="environment (default: dev)")
    parser.add_argument(
        "--data-root",
        help=f"local data root (default: ${DATA_ROOT_ENV_VAR}, else .fitlake/ in the repo)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fitlake", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    notebook = commands.add_parser("notebook", help="run a Databricks source notebook locally")
    notebook.add_argument("path", help="the notebook file (.py or .sql, Databricks source format)")
    notebook.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE", help="a widget value; repeatable"
    )
    _add_common(notebook)

    deps = commands.add_parser("jars", help="resolve and cache Spark's JVM packages (Delta)")
    deps.add_argument(
        "--via-mvn", action="store_true", help="pre-fetch with mvn into ~/.m2 first (where only mvn reaches Maven)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "notebook":
            return _run_notebook(args)
        if args.command == "jars":
            return _jars(args)
    except NotebookCellError as error:
        print(f"\nFAILED: {error.notebook}, cell {error.cell}\n{error.traceback_text}", file=sys.stderr)
        return 1
    except FitlakeError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 2
    return 0


def _run_notebook(args: argparse.Namespace) -> int:
    from fitlake.local.executor import NotebookRuntime
    from fitlake.local.session import local_spark

    layout = LocalLayout(resolve_data_root(args.data_root), args.env)
    params = _parse_params(args.param)
    spark = local_spark(layout)
    result = NotebookRuntime(spark, layout).run(args.path, params)
    if result.exit_value is not None:
        print(f"Exit value: {result.exit_value}")
    return 0


def _jars(args: argparse.Namespace) -> int:
    from fitlake.local import jars

    resolved = jars.ensure_jars(via_mvn=args.via_mvn or None)
    print(f"{len(resolved)} jars cached under {jars.ivy_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
