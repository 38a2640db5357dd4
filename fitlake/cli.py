"""The ``fitlake`` command line: run the repo's notebooks and the pipeline locally.

``fitlake notebook PATH -p name=value`` runs any notebook with widget values; ``fitlake run`` runs the
driver; ``fitlake job run JOB`` runs a Jobs API 2.1 job definition task by task; ``fitlake demo`` runs the
integration-test job (set 1, batch run, test, set 2, batch run, test) and prints gold; ``fitlake sql``
queries an environment's tables; ``fitlake runs`` lists recent runs and their pages; ``fitlake produce`` /
``generate`` handle sample data; ``fitlake jars`` resolves and caches Spark's JVM packages; ``fitlake deploy``
deploys to a Databricks workspace.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from fitlake.errors import NO_SPACE, FitlakeError, NotebookCellError, storage_full, storage_full_message
from fitlake.local.layout import DATA_ROOT_ENV_VAR, LocalLayout, repo_root, resolve_data_root
from fitlake.parameters import (
    BRONZE_SOURCE,
    BRONZE_SOURCES,
    DELIVER_TO,
    DRIVER_PARAMETERS,
    ENVIRONMENT,
    ENVIRONMENTS,
    EXTRACT_PARAMETERS,
    FROM_TOPICS,
    KAFKA_BOOTSTRAP_SERVERS,
    LANDING,
    RUN_MODE,
    SAMPLE_SET,
    SET_DIR,
    Parameter,
)

RUN_SUMMARY_FILE = "summary.json"  # in the run record folder of `fitlake run`: the driver's exit value


def _parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise FitlakeError(f"Parameter {pair!r} must look like name=value.")
        params[name] = value
    return params


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", default=ENVIRONMENT.default, choices=ENVIRONMENTS, help=f"environment (default: {ENVIRONMENT.default})"
    )
    parser.add_argument(
        "--data-root",
        help=f"local data root (default: ${DATA_ROOT_ENV_VAR}, else .fitlake/ in the repo)",
    )


def _add_runtime(parser: argparse.ArgumentParser) -> None:
    """The options of a command that runs notebooks: ``_add_common``'s and ``-v``."""
    _add_common(parser)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show also what is otherwise only in the run record (HTML outputs such as the DDL, exit values)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fitlake", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    notebook = commands.add_parser("notebook", help="run a Databricks source notebook locally")
    notebook.add_argument("path", help="the notebook file (.py or .sql, Databricks source format)")
    _add_params(notebook, "a widget value; repeatable (the environment widget is --env's unless given here)")
    _add_runtime(notebook)

    run = commands.add_parser("run", help="run the driver notebook (setup, bronze, silver, gold)")
    for parameter in DRIVER_PARAMETERS:  # the driver's widgets as flags (the environment is --env)
        if parameter is BRONZE_SOURCE:  # a text widget (empty: the config decides), a choice on the command line
            parameter = replace(parameter, choices=("", *BRONZE_SOURCES))
        if parameter is not ENVIRONMENT:
            _add_flag(run, parameter)
    _add_runtime(run)

    produce = commands.add_parser("produce", help="land a sample set (1 or 2) in the landing zone")
    _add_flag(produce, SAMPLE_SET, required=True)
    _add_flag(produce, SET_DIR)
    _add_flag(produce, LANDING)
    _add_runtime(produce)

    demo = commands.add_parser("demo", help="the end-to-end demo: the integration-test job, then the gold tables")
    _add_runtime(demo)

    sql = commands.add_parser("sql", help="query an environment's tables and views")
    sql.add_argument("query")
    sql.add_argument("--output", help="write the result to FILE.parquet, FILE.csv or FILE.json instead")
    sql.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
    _add_common(sql)

    generate = commands.add_parser("generate", help="generate sample sets and their manifests")
    generate.add_argument("out", help="output folder (set1/, set2/, manifest_set*.json)")
    generate.add_argument("--users", type=int)
    generate.add_argument("--days", type=int)
    generate.add_argument("--seed", type=int)
    generate.add_argument("--start-date", help="the first day of activity, yyyy-MM-dd (UTC)")

    kafka = commands.add_parser("kafka", help="the local Kafka broker (KRaft, one node) and a producer for it")
    kafka.add_argument("action", choices=("start", "stop", "status", "produce"))
    _add_flag(kafka, replace(SAMPLE_SET, default=""), note="produce: ")
    _add_flag(kafka, SET_DIR, note="produce: ")
    kafka.add_argument("--bootstrap-servers", default="", help="produce: another cluster than the local broker")
    _add_runtime(kafka)

    runs = commands.add_parser("runs", help="list recent runs, newest first, with their state and run page")
    runs.add_argument("-n", "--limit", type=int, default=20, help="how many runs (default 20)")
    _add_common(runs)

    recover = commands.add_parser(
        "recover", help="rebuild a flow's lost or damaged checkpoint, losing and doubling nothing"
    )
    recover.add_argument("flow", help="the flow, as the error names it (e.g. silver.heart_rate)")
    _add_flag(recover, replace(LANDING, help=f"{LANDING.help}, as given to run"))
    _add_common(recover)

    chaos = commands.add_parser(
        "chaos", help="SIGKILL the driver at crash points and random moments, restart, compare with a clean run"
    )
    chaos.add_argument("work", help="work folder: the reference and chaos lakes, their run logs, report.json")
    chaos.add_argument("--mode", default=RUN_MODE.default, choices=RUN_MODE.choices)
    chaos.add_argument("--kills", type=int, default=4, help="random kills, spread over the sets (default 4)")
    chaos.add_argument(
        "--points",
        default="",
        help="crash points to kill at (a flow's name, or <flow>/<write> between two writes of its batch), "
        "comma-separated, or 'all' (default none)",
    )
    chaos.add_argument("--seed", type=int, default=1, help="seed of the random kill moments (default 1)")
    _add_flag(chaos, SET_DIR)

    deps = commands.add_parser("jars", help="resolve and cache the JVM packages (Spark's, the Kafka broker's)")
    deps.add_argument(
        "--via-mvn", action="store_true", help="pre-fetch with mvn into ~/.m2 first (where only mvn reaches Maven)"
    )
    _add_deploy(commands)
    _add_extract(commands)
    _add_job(commands)
    return parser


def _add_flag(parser: argparse.ArgumentParser, parameter: Parameter, *, required: bool = False, note: str = "") -> None:
    """``parameter``'s flag, its default and choices as its spec gives them; ``note`` prefixes its help."""
    parser.add_argument(
        parameter.flag,
        dest=parameter.name,
        required=required,
        default=None if required else parameter.default,
        choices=parameter.choices or None,
        help=f"{note}{parameter.help}",
    )


def _add_params(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``-p NAME=VALUE``, repeatable: the values a notebook's widgets or a job's parameters take."""
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE", help=help_text)


def _add_job(commands: argparse._SubParsersAction) -> None:
    job = commands.add_parser("job", help="run a Jobs API 2.1 job definition locally, task by task")
    job.add_argument("action", choices=("run",))
    job.add_argument("job", help="a job name from pipelines/jobs/ (fitlake-dev-integration-test) or a JSON file")
    _add_params(job, "a job parameter's value (it overrides the default); repeatable")
    _add_runtime(job)


def _add_deploy(commands: argparse._SubParsersAction) -> None:
    deploy = commands.add_parser(
        "deploy", help="deploy notebooks, setup, the wheel and the jobs to a Databricks workspace (legacy CLI)"
    )
    deploy.add_argument("--environment", "--env", required=True, choices=ENVIRONMENTS, dest="environment")
    deploy.add_argument("--run-integration-test", action="store_true", help="run the integration-test job and wait")
    deploy.add_argument("--wait-minutes", type=float, default=60, help="how long to wait for that run (default 60)")
    deploy.add_argument("--poll-seconds", type=float, default=30, help="how often to ask for its state (default 30)")
    deploy.add_argument("--wheel", type=Path, help="a built fitlake wheel (default: build one from this checkout)")


def _add_extract(commands: argparse._SubParsersAction) -> None:
    extract = commands.add_parser("extract", help="copy new and changed database rows to the landing zone (JDBC)")
    for parameter in (LANDING, *EXTRACT_PARAMETERS):
        _add_flag(extract, parameter)
    _add_runtime(extract)

    db = commands.add_parser("db", help="the local source database (SQLite): load a sample set into it")
    db.add_argument("action", choices=("load",))
    _add_flag(db, SAMPLE_SET, required=True)
    _add_flag(db, SET_DIR)
    db.add_argument("--db", default="", help="the SQLite file (default: the one 'fitlake extract' reads locally)")
    _add_common(db)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "notebook":
            return _run_notebook(args)
        if args.command == "jars":
            return _jars(args)
        if args.command == "kafka":
            return _kafka(args)
        handlers = {
            "run": _run, "produce": _produce, "demo": _demo, "sql": _sql, "generate": _generate, "deploy": _deploy,
            "extract": _extract, "db": _db, "job": _job, "runs": _runs, "chaos": _chaos,
            "recover": _recover,
        }  # fmt: skip
        return handlers[args.command](args)
    except NotebookCellError as error:
        print(f"\nFAILED: {error.notebook}, cell {error.cell}\n{error.traceback_text}", file=sys.stderr)
        if NO_SPACE in error.traceback_text:  # however deep in a notebook (setup, a layer), say it plainly last
            print(f"\nERROR: {storage_full_message('the data root')}", file=sys.stderr)
        return 1
    except FitlakeError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if not storage_full(error):
            raise
        print(f"\nERROR: {storage_full_message(error.filename or 'the data root')}", file=sys.stderr)
        return 2


def _runtime(args: argparse.Namespace, params: dict[str, str] | None = None):  # noqa: ANN202 - lazy import (JVM)
    from fitlake.local.executor import NotebookRuntime
    from fitlake.local.session import local_spark

    layout = LocalLayout(resolve_data_root(args.data_root), args.env)
    roots, read_only = _fs_roots(params or {})
    return NotebookRuntime(
        local_spark(layout), layout, verbose=args.verbose, fs_roots=roots, fs_read_only_roots=read_only
    )


def _fs_roots(params: dict[str, str]) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Local folders outside the data root that the user named on the command line, for ``dbutils.fs``.

    dbutils.fs is confined to the data root; a ``landing`` given as a file: URI (written: the producer and the
    extract land files there) and a ``set_dir`` (read: the producer copies from it) are the user's own choice.
    """
    landing, set_dir = params.get(LANDING.name, ""), params.get(SET_DIR.name, "")
    roots = (Path(landing.removeprefix("file:")).resolve(),) if landing.startswith("file:") else ()
    read_only = (Path(set_dir).resolve(),) if set_dir else ()
    return roots, read_only


def _notebook_params(args: argparse.Namespace) -> dict[str, str]:
    """``fitlake notebook``'s widget values: the environment widget follows ``--env`` unless ``-p`` sets it."""
    from fitlake.config import ENVIRONMENT_WIDGET

    return {ENVIRONMENT_WIDGET: args.env, **_parse_params(args.param)}


def _run_notebook(args: argparse.Namespace) -> int:
    params = _notebook_params(args)
    result = _runtime(args, params).run(args.path, params)
    if result.exit_value is not None:
        print(f"Exit value: {result.exit_value}")
    return 0


def _values(args: argparse.Namespace, *parameters: Parameter) -> dict[str, str]:
    """The widget values of ``parameters``, as their flags gave them."""
    return {parameter.name: getattr(args, parameter.name) for parameter in parameters}


def _notebook(name: str) -> Path:
    return repo_root() / "notebooks" / name


def _run(args: argparse.Namespace) -> int:
    params = {p.name: getattr(args, p.name) for p in DRIVER_PARAMETERS if p is not ENVIRONMENT}
    params[ENVIRONMENT.name] = args.env
    result = _runtime(args, params).run(_notebook("05_driver.py"), params)
    # The driver has printed the summary as a table; its exit value (JSON) is kept for tools, not the console.
    summary = result.record_folder / RUN_SUMMARY_FILE
    summary.write_text(json.dumps(json.loads(result.exit_value or "null"), indent=2) + "\n", encoding="utf-8")
    print(f"Summary (JSON): {summary}")
    return 0


def _job(args: argparse.Namespace) -> int:
    """Exit 1 unless the job's result is SUCCESS (2 stays for a definition or parameter that cannot run)."""
    result, _ = _run_job(args, args.job, _parse_params(args.param))
    return 0 if result.succeeded else 1


def _run_job(args: argparse.Namespace, job: str, params: dict[str, str]):  # noqa: ANN202 - lazy import (JVM)
    """Run ``job`` (a name from pipelines/jobs/ or a JSON file) task by task; print its summary, and on failure
    what failed. Returns its result (with its run page) and the notebook runtime its tasks ran in."""
    from fitlake.deployment.deploy import checkout_notebook
    from fitlake.governance import load_deployment
    from fitlake.local.job_spec import job_file, load_job
    from fitlake.local.jobs import JobRun, failures, plan_job, summary

    layout = LocalLayout(resolve_data_root(args.data_root), args.env)
    deployment, repo = load_deployment(args.env), repo_root()
    spec = load_job(job_file(job, repo), lambda path: checkout_notebook(path, deployment, repo))
    plan = plan_job(spec, params, layout)
    runtime = _runtime(args, dict(plan.facts.parameters))
    result = JobRun(plan, runtime).run()
    print(summary(result))
    print(f"Job run page: {result.page}")
    if not result.succeeded:
        print(f"\nJOB {result.state}: {result.name}\n{failures(result)}", file=sys.stderr)
    return result, runtime


def produce_widgets(args: argparse.Namespace) -> dict[str, str]:
    """The producer notebook's widget values for ``fitlake produce``: a set to the landing zone's files."""
    return {ENVIRONMENT.name: args.env, **_values(args, SAMPLE_SET, SET_DIR, LANDING)}


def kafka_produce_widgets(args: argparse.Namespace) -> dict[str, str]:
    """The producer notebook's widget values for ``fitlake kafka produce``: a set to the topics."""
    if not getattr(args, SAMPLE_SET.name):
        raise FitlakeError(f"fitlake kafka produce needs {SAMPLE_SET.flag} " + " or ".join(SAMPLE_SET.choices) + ".")
    return {
        ENVIRONMENT.name: args.env,
        **_values(args, SAMPLE_SET, SET_DIR),
        DELIVER_TO.name: FROM_TOPICS,
        KAFKA_BOOTSTRAP_SERVERS.name: args.bootstrap_servers,
    }


def extract_widgets(args: argparse.Namespace) -> dict[str, str]:
    """The extract notebook's widget values for ``fitlake extract``."""
    return {ENVIRONMENT.name: args.env, **_values(args, LANDING, *EXTRACT_PARAMETERS)}


def _produce(args: argparse.Namespace) -> int:
    params = produce_widgets(args)
    result = _runtime(args, params).run(_notebook("06_producer.py"), params)
    print(f"Landed {result.exit_value} files")
    return 0


def _extract(args: argparse.Namespace) -> int:
    params = extract_widgets(args)
    result = _runtime(args, params).run(_notebook("08_extract.py"), params)
    deliveries = json.loads(result.exit_value or "[]")
    for delivery in deliveries:
        print(f"{delivery['source']}: marks ({delivery['low']}, {delivery['high']}], {delivery['rows']} rows -> "
              f"{delivery['file']}{'' if delivery['written'] else ' (already landed)'}")  # fmt: skip
    print(f"{len(deliveries)} increment(s) landed")
    return 0


def _db(args: argparse.Namespace) -> int:
    """Load a sample set into the local SQLite source database (standard library; no Spark)."""
    from fitlake.extract.config import LOCAL_DATABASE
    from fitlake.sample.database import load_set
    from fitlake.sample.generator import shipped_sets_dir
    from fitlake.sample.spec import set_folder

    layout = LocalLayout(resolve_data_root(args.data_root), args.env)
    default = layout.storage(LOCAL_DATABASE)  # where the extract reads by default (platform.storage_path)
    database = Path(args.db) if args.db else default
    sets = Path(args.set_dir) if args.set_dir else shipped_sets_dir()
    result = load_set(database, set_folder(sets, args.set))
    print(
        f"Set {args.set} -> {database}: {result.registrations} registrations inserted, "
        f"{result.sessions_written} gym sessions written, {result.sessions_unchanged} unchanged"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    """The environment's integration-test job (set 1: produce, batch run, test; then set 2; then the dashboard),
    run as the workspace runs it, then the gold tables and where the dashboard's charts are. Exit 1 when a task
    fails, as ``fitlake job run`` does."""
    from fitlake.deployment.jobs import DASHBOARD_TASK, NOTEBOOKS, integration_test_job_name

    result, runtime = _run_job(args, integration_test_job_name(args.env), {})
    if not result.succeeded:
        return 1
    for table in ("gold.workout_bpm_summary", "gold.gym_summary"):
        print(f"\n=== {table} ===")
        _print_rows(runtime.spark.table(table), 50)
    print(f"\nTables live under {runtime.layout.warehouse}; run records under {runtime.layout.runs}")
    (dashboard,) = [task for task in result.tasks if task.key == DASHBOARD_TASK]
    page = dashboard.record_folder / f"{Path(NOTEBOOKS[DASHBOARD_TASK]).name}.html"
    print(f"The gold outputs as charts: {page}")
    print(f"Job run page: {result.page}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    """The newest runs of the environment, from their run folders (no Spark)."""
    from fitlake.local.outputs import text_table
    from fitlake.local.run_page import PAGE_FILE, recent_runs, utc_text

    if args.limit < 1:
        raise FitlakeError(f"-n must be 1 or more, got {args.limit}.")
    layout = LocalLayout(resolve_data_root(args.data_root), args.env)
    listings = recent_runs(layout.runs, args.limit)
    if not listings:
        print(f"No runs under {layout.runs}.")
        return 0
    rows = []
    for listing in listings:
        page = listing.page
        took = "" if page is None or page.seconds is None else f"{page.seconds:.1f}"
        what = f"{page.kind} {page.name}" if page else listing.folder.name
        shown = listing.folder / PAGE_FILE if page else listing.folder
        rows.append([utc_text(page.started) if page else "", listing.state, took, what, str(shown)])
    print(text_table(["started", "state", "seconds", "run", "page"], rows, False))
    return 0


def _sql(args: argparse.Namespace) -> int:
    from fitlake.local.session import local_spark

    spark = local_spark(LocalLayout(resolve_data_root(args.data_root), args.env))
    result = spark.sql(args.query)
    if args.output:
        written = _write_result(result, Path(args.output))
        print(f"Wrote {written} rows to {args.output}")
    else:
        _print_rows(result, args.limit)
    return 0


def _print_rows(df, limit: int) -> None:  # noqa: ANN001 - a DataFrame
    from fitlake.local.outputs import text_table

    rows = df.limit(limit + 1).collect()
    cells = [["null" if v is None else str(v) for v in row] for row in rows[:limit]]
    print(text_table(df.columns, cells, len(rows) > limit))


def _write_result(df, path: Path) -> int:  # noqa: ANN001 - a DataFrame
    """Write ``df`` as one file at ``path`` (format from the extension)."""
    import shutil
    import tempfile

    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("parquet", "csv", "json"):
        raise FitlakeError(f"--output must end in .parquet, .csv or .json, got {path.name}.")
    with tempfile.TemporaryDirectory() as scratch:
        writer = df.coalesce(1).write.mode("overwrite").format(fmt)
        if fmt == "csv":
            writer = writer.option("header", "true")
        writer.save(scratch + "/out")
        part = next(Path(scratch, "out").glob(f"part-*.{fmt}" if fmt != "json" else "part-*.json"))
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(part), path)
    return df.count()


def _generate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from fitlake.sample.generator import SampleSpec, generate

    options = {"users": args.users, "days": args.days, "seed": args.seed, "start_date": args.start_date}
    overrides = {k: v for k, v in options.items() if v is not None}
    sets = generate(replace(SampleSpec(), **overrides), Path(args.out))
    for number, folder in sets.items():
        print(f"set {number}: {folder}")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    """Exit 1 when a deployment step or the integration test fails (2 stays for usage and config errors)."""
    from fitlake.deployment import DeploymentError
    from fitlake.deployment.deploy import DeployOptions, deploy

    options = DeployOptions(
        environment=args.environment,
        repo=repo_root(),
        wheel=args.wheel,
        run_integration_test=args.run_integration_test,
        wait_minutes=args.wait_minutes,
        poll_seconds=args.poll_seconds,
    )
    try:
        deploy(options)
    except DeploymentError as error:
        print(f"\nDEPLOY FAILED ({args.environment}): {error}", file=sys.stderr)
        return 1
    print(f"Deployed {args.environment}.")
    return 0


def _recover(args: argparse.Namespace) -> int:
    from fitlake import pipeline
    from fitlake.config import load_config
    from fitlake.local.session import local_spark

    spark = local_spark(LocalLayout(resolve_data_root(args.data_root), args.env))
    moved = pipeline.recover(spark, load_config(spark, args.env, landing=args.landing), args.flow)
    print(f"Rebuilt the checkpoint of {args.flow}." + (f" The old one is kept at {moved}." if moved else ""))
    return 0


def _chaos(args: argparse.Namespace) -> int:
    """Exit 1 when the chaos lake differs from the uninterrupted one in any row."""
    from fitlake import chaos, pipeline
    from fitlake.sample.spec import SETS, set_folder

    points = list(pipeline.CRASH_POINTS) if args.points == "all" else [p.strip() for p in args.points.split(",")]
    unknown = sorted(set(points) - set(pipeline.CRASH_POINTS) - {""})
    if unknown:
        raise FitlakeError(f"Unknown crash point(s) {unknown} in --points: choose from {list(pipeline.CRASH_POINTS)}.")
    sets = () if not args.set_dir else tuple(set_folder(args.set_dir, n) for n in SETS)
    plan = chaos.ChaosPlan(
        Path(args.work).resolve(),
        mode=args.mode,
        kills=args.kills,
        points=tuple(point for point in points if point),
        seed=args.seed,
        **({"sets": sets} if sets else {}),
    )
    report = chaos.play(plan)
    (plan.work / "report.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    print(report.as_text())
    print(f"Report (JSON): {plan.work / 'report.json'}")
    return 1 if report.differences else 0


def _jars(args: argparse.Namespace) -> int:
    from fitlake.local import cds, jars

    resolved = jars.ensure_jars(via_mvn=args.via_mvn or None)
    print(f"{len(resolved)} jars cached under {jars.ivy_dir()}")
    archive = cds.ensure_archive(resolved)  # a training run of about a minute, once per jar set
    if archive is not None:
        print(f"Class data sharing archive for local sessions: {archive}")
    broker = jars.broker_jars(via_mvn=args.via_mvn or None)
    print(f"{len(broker)} Kafka broker jars cached under {jars.ivy_dir()}")
    return 0


def _kafka(args: argparse.Namespace) -> int:
    """The environment's local broker (in <data root>/<env>/kafka), and publishing a sample set to Kafka."""
    from fitlake.local import kafka

    work_dir = LocalLayout(resolve_data_root(args.data_root), args.env).kafka
    if args.action == "start":
        broker = kafka.start(work_dir)
        print(f"Kafka broker running at {broker.bootstrap_servers} (pid {broker.pid}); log: {broker.log_file}")
    elif args.action == "stop":
        print("Kafka broker stopped." if kafka.stop(work_dir) else f"No Kafka broker was running in {work_dir}.")
    elif args.action == "status":
        broker = kafka.status(work_dir)
        print(f"Running at {broker.bootstrap_servers} (pid {broker.pid})." if broker else "Not running.")
        return 0 if broker else 3
    else:
        return _kafka_produce(args)
    return 0


def _kafka_produce(args: argparse.Namespace) -> int:
    params = kafka_produce_widgets(args)
    result = _runtime(args, params).run(_notebook("06_producer.py"), params)
    print(f"Published {result.exit_value} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
