"""Unity Catalog governance as code: config -> validated model -> idempotent Databricks SQL, offline.

The rendered SQL of every environment is compared with a reviewed golden file and parsed with sqlglot's
Databricks dialect. sqlglot 30 parses CREATE SCHEMA and GRANT ... ON SCHEMA into real expressions; CREATE
CATALOG, CREATE EXTERNAL LOCATION, GRANT ... ON CATALOG / EXTERNAL LOCATION and ALTER ... OWNER TO fall back
to an opaque ``Command``: for those the test checks sqlglot's tokens and a strict grammar written here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
import sqlglot
from configfiles import edit
from sqlglot import exp
from sqlglot.dialects.databricks import Databricks
from sqlglot.tokens import TokenType

from fitlake import governance as gov
from fitlake.config import ENVIRONMENTS
from fitlake.errors import ConfigError
from fitlake.local.executor import NotebookRuntime

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = "FITLAKE_UPDATE_GOLDEN"
READ_ONLY = {"USE CATALOG", "USE SCHEMA", "SELECT", "BROWSE", "READ FILES"}

# A grammar for the statements sqlglot keeps as an opaque Command, written independently of the renderer.
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_URL = r"'abfss://[a-z0-9-]+@[a-z0-9]+\.dfs\.core\.windows\.net(/[A-Za-z0-9_.=-]+)*/?'"
_PRINCIPAL = r"`[^`;']+`"
_PRIVILEGES = r"[A-Z]+( [A-Z]+)*(, [A-Z]+( [A-Z]+)*)*"
UNPARSED_GRAMMAR = (
    rf"CREATE EXTERNAL LOCATION IF NOT EXISTS {_NAME} URL {_URL} WITH \(STORAGE CREDENTIAL {_NAME}\)",
    rf"CREATE CATALOG IF NOT EXISTS {_NAME} MANAGED LOCATION {_URL}",
    rf"GRANT {_PRIVILEGES} ON (CATALOG|EXTERNAL LOCATION) {_NAME} TO {_PRINCIPAL}",
    rf"ALTER (CATALOG|EXTERNAL LOCATION) {_NAME} OWNER TO {_PRINCIPAL}",
)


def failure(config_dir: Path, env: str = "dev") -> str:
    with pytest.raises(ConfigError) as error:
        gov.render_sql(gov.load_governance(env, config_dir=config_dir))
    return str(error.value)


# ------------------------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rendered_sql_matches_the_reviewed_golden_file(env):
    rendered = gov.to_script(gov.render_sql(gov.load_governance(env)))
    golden = GOLDEN_DIR / f"governance_{env}.sql"
    if os.environ.get(UPDATE_GOLDEN) == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
        pytest.skip(f"{golden} rewritten: review its diff before committing it.")
    assert golden.is_file(), f"{golden} is missing; create it with {UPDATE_GOLDEN}=1 and review it."
    assert rendered == golden.read_text(encoding="utf-8"), (
        f"The SQL rendered for {env} differs from {golden}. If the change is intended, regenerate with "
        f"`{UPDATE_GOLDEN}=1 .venv/bin/python -m pytest tests/unit/test_governance.py -q`, "
        "then review the golden file's diff as a change to production grants."
    )


# ---------------------------------------------------------------------------------- Databricks SQL syntax


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rendered_sql_parses_as_databricks_sql(env):
    parsed_kinds = set()
    for statement in gov.render_sql(gov.load_governance(env)):
        tokens = Databricks().tokenize(statement)
        assert TokenType.SEMICOLON not in {token.token_type for token in tokens}, statement
        expression = sqlglot.parse_one(statement, read="databricks")
        if isinstance(expression, exp.Command):
            assert any(re.fullmatch(rule, statement) for rule in UNPARSED_GRAMMAR), f"not in the grammar: {statement}"
            quoted = [token.text for token in tokens if token.token_type == TokenType.IDENTIFIER]
            strings = [token.text for token in tokens if token.token_type == TokenType.STRING]
            assert len(quoted) == statement.count("`") // 2 and len(strings) == statement.count("'") // 2, statement
        else:
            assert isinstance(expression, exp.Create | exp.Grant), statement
            assert expression.sql(dialect="databricks") == statement
            parsed_kinds.add((type(expression).__name__, expression.args.get("kind")))
    # what sqlglot does parse, it must keep parsing: schemas and grants on schemas
    assert {("Create", "SCHEMA"), ("Grant", "SCHEMA")} <= parsed_kinds


def test_a_principal_is_one_quoted_identifier_to_sqlglot():
    statement = next(s for s in gov.render_sql(gov.load_governance("prod")) if "ON SCHEMA" in s)
    grant = sqlglot.parse_one(statement, read="databricks")
    principals = grant.args["principals"]
    assert len(principals) == 1
    assert principals[0].this.this == "fitlake-analysts" and principals[0].this.args["quoted"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_statement_is_safe_to_re_run(env):
    for statement in gov.render_sql(gov.load_governance(env)):
        assert statement.startswith(("CREATE EXTERNAL LOCATION IF NOT EXISTS ", "CREATE CATALOG IF NOT EXISTS ",
                                     "CREATE SCHEMA IF NOT EXISTS ", "GRANT ", "ALTER ")), statement  # fmt: skip
        assert not re.search(r"\b(DROP|REVOKE|REPLACE|DELETE|TRUNCATE)\b", statement), statement


def test_locations_come_before_the_catalog_and_ownership_after_the_grants():
    statements = gov.render_sql(gov.load_governance("dev"))
    kinds = [" ".join(s.split()[:2]) for s in statements]
    assert kinds.index("CREATE CATALOG") > max(i for i, k in enumerate(kinds) if k == "CREATE EXTERNAL")
    assert kinds.index("CREATE SCHEMA") > kinds.index("CREATE CATALOG")
    assert min(i for i, k in enumerate(kinds) if k.startswith("ALTER")) > max(
        i for i, k in enumerate(kinds) if k.startswith("GRANT")
    )


# ------------------------------------------------------------------------------- the environments' rules


def grants_of(governance: gov.Governance, principal: str) -> dict[tuple[str, str], set[str]]:
    return {(g.securable, g.name): set(g.privileges) for g in governance.grants if g.principal == principal}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_analysts_may_only_read_gold(env):
    assert grants_of(gov.load_governance(env), "fitlake-analysts") == {
        ("catalog", ""): {"USE CATALOG"},
        ("schema", "gold"): {"USE SCHEMA", "SELECT"},
    }


def test_engineers_have_all_privileges_in_dev_and_only_read_elsewhere():
    assert grants_of(gov.load_governance("dev"), "fitlake-engineers")[("catalog", "")] == {"ALL PRIVILEGES"}
    for env in ("qa", "prod"):
        engineers = grants_of(gov.load_governance(env), "fitlake-engineers")
        assert engineers[("catalog", "")] == {"USE CATALOG", "USE SCHEMA", "SELECT", "BROWSE"}
        assert set().union(*engineers.values()) <= READ_ONLY


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ci_service_principal_owns_the_catalog_and_locations(env):
    governance = gov.load_governance(env)
    owner = f"`{governance.owner}`"
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", governance.owner)  # an application id
    owned = [s for s in gov.render_grants_sql(governance) if s.startswith("ALTER ")]
    assert owned == [f"ALTER CATALOG fitlake_{env} OWNER TO {owner}"] + [
        f"ALTER EXTERNAL LOCATION {location.name} OWNER TO {owner}" for location in governance.external_locations
    ]


def test_environments_share_no_catalog_location_credential_owner_or_folder():
    models = [gov.load_governance(env) for env in ENVIRONMENTS]
    deployments = [gov.load_deployment(env) for env in ENVIRONMENTS]
    for values in (
        [m.catalog for m in models],
        [m.storage_credential for m in models],
        [m.owner for m in models],
        [d.workspace_folder for d in deployments],
        [loc.name for m in models for loc in m.external_locations],
        [loc.url for m in models for loc in m.external_locations],
    ):
        assert len(set(values)) == len(values), values


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deployment_folder_and_compute(env):
    deployment = gov.load_deployment(env)
    assert deployment.workspace_folder == f"/Workspace/Shared/fitlake/{env}"
    assert deployment.compute.spark_version.startswith("18.") and deployment.compute.num_workers >= 1
    assert deployment.compute.data_security_mode == "SINGLE_USER"


# ------------------------------------------------------------------------------------ injection attempts


def test_an_injected_environment_fails_before_any_file_is_read(config_dir):
    with pytest.raises(ConfigError, match="dev, qa, prod"):
        gov.load_governance("dev; DROP CATALOG prod", config_dir=config_dir)
    with pytest.raises(ConfigError, match="dev, qa, prod"):
        gov.load_deployment("../prod", config_dir=config_dir)


@pytest.mark.parametrize(
    "name", ["fitlake dev", "fitlake_dev; DROP CATALOG fitlake_prod", "fitlake-dev", "`x`", "fitlake_dev\n"]
)
def test_a_catalog_name_that_is_not_an_identifier_fails(config_dir, name):
    path = edit(config_dir, 'name = "fitlake_dev"', f"name = {json.dumps(name)}")
    message = failure(config_dir)
    assert str(path) in message and "catalog.name" in message and "letters, digits and underscores" in message


def test_a_principal_with_a_backtick_is_rejected_not_escaped(config_dir):
    path = edit(config_dir, '"fitlake-analysts"', '"fitlake`; DROP CATALOG fitlake_prod; --"')
    message = failure(config_dir)
    assert str(path) in message and "governance.principals.analysts" in message and "backtick" in message


@pytest.mark.parametrize("principal", ["", " padded", "a;b", "a'b", "line\\nbreak", "x" * 256, "trailing\n"])
def test_a_principal_outside_the_allowed_characters_is_rejected(config_dir, principal):
    edit(config_dir, '"fitlake-analysts"', json.dumps(principal))
    assert "governance.principals.analysts" in failure(config_dir)


@pytest.mark.parametrize(
    "url",
    [
        "abfss://landing@fitlakedev.dfs.core.windows.net/fitlake' WITH (STORAGE CREDENTIAL x); DROP CATALOG y; --",
        "abfss://landing@fitlakedev.dfs.core.windows.net/fit lake",
        "abfss://landing@fitlakedev.dfs.core.windows.net/fitlake/../other",
        "s3://landing/fitlake",
        "abfss://Landing@fitlakedev.dfs.core.windows.net/fitlake",
        "abfss://landing@fitlakedev.blob.core.windows.net/fitlake",
        "abfss://landing@fitlakedev.dfs.core.windows.net/fitlake\n",
    ],
)
def test_an_external_location_url_that_is_not_plain_abfss_is_rejected(config_dir, url):
    path = edit(
        config_dir,
        'fitlake_dev_landing = "abfss://landing@fitlakedev.dfs.core.windows.net/fitlake"',
        f"fitlake_dev_landing = {json.dumps(url)}",
    )
    message = failure(config_dir)
    assert str(path) in message and "governance.external_locations.fitlake_dev_landing" in message
    assert "abfss://<container>@<account>.dfs.core.windows.net/<path>" in message


def test_a_managed_location_with_a_quote_is_rejected(config_dir):
    edit(config_dir, 'managed_location = "abfss://managed@fitlakedev.dfs.core.windows.net/fitlake"',
         """managed_location = "abfss://managed@fitlakedev.dfs.core.windows.net/x'" """)  # fmt: skip
    assert "governance.managed_location" in failure(config_dir)


@pytest.mark.parametrize(
    ("privilege", "expected"),
    [
        ("DROP EVERYTHING", "not a privilege on a catalog"),
        ("SELECT ON CATALOG fitlake_prod TO `x`; GRANT ALL PRIVILEGES", "not a privilege on a catalog"),
        ("READ FILES", "not a privilege on a catalog"),  # a privilege, but not one of a catalog
    ],
)
def test_an_unknown_privilege_is_rejected(config_dir, privilege, expected):
    path = edit(config_dir, 'privileges = ["USE CATALOG"]', f"privileges = [{json.dumps(privilege)}]")
    message = failure(config_dir)
    assert str(path) in message and "governance.grants #3.privileges" in message and expected in message


def test_privileges_are_read_case_insensitively_but_rendered_from_the_allow_list(config_dir):
    edit(config_dir, 'privileges = ["USE SCHEMA", "SELECT"]', 'privileges = ["use  schema", "select"]')
    statements = gov.render_sql(gov.load_governance("dev", config_dir=config_dir))
    assert "GRANT USE SCHEMA, SELECT ON SCHEMA fitlake_dev.gold TO `fitlake-analysts`" in statements


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("catalog", "fitlake_dev; DROP CATALOG fitlake_prod", "not a valid name"),
        ("managed_location", "abfss://x@fitlakedev.dfs.core.windows.net/a'b", "not an ADLS Gen2 URL"),
        ("storage_credential", "cred) ; DROP CATALOG fitlake_prod; --", "not a valid name"),
        ("owner", "ci`; DROP CATALOG fitlake_prod; --", "backtick"),
    ],
)
def test_a_model_built_in_code_is_validated_again_where_sql_is_made(field, value, expected):
    governance = dataclasses.replace(gov.load_governance("dev"), **{field: value})
    with pytest.raises(ConfigError, match=expected):
        gov.render_sql(governance)


def test_a_grant_built_in_code_with_an_unknown_privilege_is_refused_at_render():
    governance = gov.load_governance("dev")
    bad = dataclasses.replace(governance.grants[0], privileges=("ALL PRIVILEGES; DROP CATALOG fitlake_prod",))
    with pytest.raises(ConfigError, match="not a privilege"):
        gov.render_grants_sql(dataclasses.replace(governance, grants=(bad,)))


# ------------------------------------------------------------------------- validation: file, key, expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("owner = ", "owners = ", "unknown key governance.owners; expected managed_location"),
        ('owner = "ci"\n', "", "governance.owner is missing (a non-empty string expected)"),
        ('owner = "ci"', 'owner = ""', "governance.owner is empty"),
        ('owner = "ci"', 'owner = "nobody"', "governance.owner 'nobody' must be a key of [governance.principals]"),
        ('storage_credential = "fitlake_dev_mi"', 'storage_credential = "fitlake-dev-mi"',
         "governance.storage_credential: 'fitlake-dev-mi' is not a valid name"),
        ("fitlake_dev_checkpoints = ", '"fitlake-dev-checkpoints" = ',
         "governance.external_locations key: 'fitlake-dev-checkpoints' is not a valid name"),
        ('engineers = "fitlake-engineers"', '"data-engineers" = "fitlake-engineers"',
         "governance.principals key: 'data-engineers' is not a valid name"),
        ('name = "gold"', 'name = "platinum"', "governance.grants #4.name 'platinum' must be one of the schemas"),
        ('name = "fitlake_dev_landing"', 'name = "fitlake_prod_landing"',
         "governance.grants #2.name 'fitlake_prod_landing' must be a key of [governance.external_locations]"),
        ('securable = "external_location"', 'securable = "metastore"',
         "governance.grants #2.securable 'metastore' must be one of catalog, schema, external_location"),
        ('privileges = ["USE CATALOG"]', 'privileges = ["USE CATALOG"]\ncolumns = ["x"]',
         "unknown key governance.grants #3.columns"),
        ('privileges = ["USE CATALOG"]', "privileges = []", "governance.grants #3.privileges is empty"),
        ('privileges = ["USE SCHEMA", "SELECT"]', 'privileges = ["SELECT", "select"]', "names a privilege twice"),
        ('privileges = ["ALL PRIVILEGES"]', 'privileges = ["ALL PRIVILEGES", "SELECT"]', "list it alone"),
        ('principal = "analysts"\nsecurable = "catalog"', 'principal = "analysts"\nsecurable = "catalog"\nname = "x"',
         "governance.grants #3.name must be left out"),
        ('principal = "analysts"\nsecurable = "catalog"', 'principal = "auditors"\nsecurable = "catalog"',
         "governance.grants #3.principal 'auditors' must be a key of [governance.principals]"),
        ('\nlanding = "abfss://landing@fitlakedev.dfs.core.windows.net/fitlake"',
         '\nlanding = "abfss://other@fitlakedev.dfs.core.windows.net/fitlake"',
         "storage.landing 'abfss://other@fitlakedev.dfs.core.windows.net/fitlake' lies in none of"),
        ('fitlake_dev_managed = "abfss://managed@fitlakedev.dfs.core.windows.net/fitlake"',
         'fitlake_dev_managed = "abfss://landing@fitlakedev.dfs.core.windows.net/"', "overlap"),
        ('managed_location = "abfss://managed@fitlakedev.dfs.core.windows.net/fitlake"',
         'managed_location = "abfss://landing@fitlakedev.dfs.core.windows.net/fitlake/managed"',
         "storage.landing lies in fitlake_dev_landing, the external location of governance.managed_location"),
    ],
)  # fmt: skip
def test_invalid_governance_fails_naming_the_file_and_key(config_dir, old, new, expected):
    path = edit(config_dir, old, new)
    message = failure(config_dir)
    assert str(path) in message and expected in message, message


def test_a_missing_governance_section_is_named(config_dir):
    path = config_dir / "qa.toml"
    path.write_text(path.read_text().split("# Unity Catalog governance")[0])
    assert f"{path}: section [governance] is missing" in failure(config_dir, "qa")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('workspace_folder = "/Workspace/Shared/fitlake/dev"', 'workspace_folder = "/Workspace/../Users/x"',
         "deployment.workspace_folder '/Workspace/../Users/x' must be an absolute workspace path"),
        ('workspace_folder = "/Workspace/Shared/fitlake/dev"', 'workspace_folder = "/Shared/fitlake/dev"',
         "deployment.workspace_folder"),
        ('spark_version = "18.0.x-scala2.13"', 'spark_version = "latest"', "deployment.compute.spark_version"),
        ('workspace_folder = "/Workspace/Shared/fitlake/dev"', 'workspace_folder = "/Workspace/Shared/dev\\n"',
         "deployment.workspace_folder"),
        ('spark_version = "18.0.x-scala2.13"', 'spark_version = "18.0.x-scala2.13\\n"',
         "deployment.compute.spark_version"),
        ('node_type_id = "Standard_D4ds_v5"', 'node_type_id = "Standard_D4ds_v5\\n"',
         "deployment.compute.node_type_id"),
        ("num_workers = 1", "num_workers = 0", "deployment.compute.num_workers must be from 1 to 1,000, got 0"),
        ("num_workers = 1", "num_workers = 100000", "deployment.compute.num_workers must be from 1 to 1,000"),
        ("num_workers = 1", 'num_workers = "2"', "deployment.compute.num_workers must be a whole number, got str"),
        ('data_security_mode = "SINGLE_USER"', 'data_security_mode = "NONE"', "SINGLE_USER or USER_ISOLATION"),
        ('node_type_id = "Standard_D4ds_v5"', 'node_type = "Standard_D4ds_v5"',
         "unknown key deployment.compute.node_type"),
    ],
)  # fmt: skip
def test_invalid_deployment_fails_naming_the_file_and_key(config_dir, old, new, expected):
    path = edit(config_dir, old, new)
    with pytest.raises(ConfigError) as error:
        gov.load_deployment("dev", config_dir=config_dir)
    assert str(path) in str(error.value) and expected in str(error.value), str(error.value)


# --------------------------------------------------------------------------------- applying, notebooks


def test_apply_skips_every_statement_on_the_local_runtime(spark):
    statements = gov.render_catalog_sql(gov.load_governance("dev"))
    results = gov.apply(spark, statements)
    assert results == [(s, gov.SKIPPED_LOCALLY) for s in statements]
    assert gov.counts(results) == {"executed": 0, "skipped": len(statements)}


def test_apply_runs_every_statement_in_order_on_databricks(monkeypatch):
    class RecordingSpark:
        def __init__(self) -> None:
            self.ran: list[str] = []

        def sql(self, statement: str) -> None:
            self.ran.append(statement)

    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    spark = RecordingSpark()
    statements = gov.render_sql(gov.load_governance("prod"))
    results = gov.apply(spark, statements)
    assert spark.ran == statements and {status for _, status in results} == {gov.EXECUTED}
    assert gov.report(results, gov.load_governance("prod")).startswith(f"{len(statements)} statement(s) executed")


def recorded_text(result) -> str:
    """Every output of every cell of the run record, as one string."""
    import nbformat

    notebook = nbformat.read(next(result.record_folder.glob("*.ipynb")), as_version=4)
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(value) for value in output.get("data", {}).values())
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("notebook", "render"),
    [("00_catalog_and_locations", gov.render_catalog_sql), ("03_grants", gov.render_grants_sql)],
)
def test_setup_notebook_runs_locally_and_shows_what_it_skipped(spark, layout, notebook, render):
    # The session's own environment: locally a notebook may not name another (NotebookRuntime.check_widget).
    runtime = NotebookRuntime(spark, layout, echo=False)
    result = runtime.run(ROOT / "setup" / f"{notebook}.py", {"environment": layout.env})
    statements = render(gov.load_governance(layout.env))
    assert json.loads(result.exit_value) == {"executed": 0, "skipped": len(statements)}
    text = recorded_text(result)
    assert "Local runtime: Unity Catalog exists only on Databricks" in text
    assert gov.SKIPPED_LOCALLY in text
    for statement in statements:
        assert statement in text


def test_setup_notebook_refuses_an_injected_environment_widget(spark, layout):
    from fitlake.errors import NotebookCellError

    runtime = NotebookRuntime(spark, layout, echo=False)
    with pytest.raises(NotebookCellError, match="not one of"):
        runtime.run(ROOT / "setup" / "03_grants.py", {"environment": "dev; DROP CATALOG fitlake_prod"})
