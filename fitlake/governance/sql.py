"""Rendering the governance model as idempotent Databricks SQL, and applying it (or, locally, not)."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import SparkSession

from fitlake import platform
from fitlake.errors import ConfigError
from fitlake.governance.model import (
    CATALOG,
    EXTERNAL_LOCATION,
    SCHEMA,
    SECURABLE_SQL,
    Governance,
    Grant,
    checked_name,
    checked_principal,
    checked_privileges,
    checked_url,
)

EXECUTED = "executed"
SKIPPED_LOCALLY = "skipped: local runtime has no Unity Catalog"


def render_catalog_sql(governance: Governance) -> list[str]:
    """External locations first (the catalog's managed location must lie in one), then the catalog, schemas."""
    credential = checked_name(governance.storage_credential, "storage credential")
    catalog = checked_name(governance.catalog, "catalog")
    statements = [
        f"CREATE EXTERNAL LOCATION IF NOT EXISTS {checked_name(location.name, 'external location')} "
        f"URL '{checked_url(location.url, location.name)}' WITH (STORAGE CREDENTIAL {credential})"
        for location in governance.external_locations
    ]
    statements.append(
        f"CREATE CATALOG IF NOT EXISTS {catalog} MANAGED LOCATION '{checked_url(governance.managed_location, catalog)}'"
    )
    statements.extend(
        f"CREATE SCHEMA IF NOT EXISTS {catalog}.{checked_name(schema, 'schema')}" for schema in governance.schemas
    )
    return statements


def render_grants_sql(governance: Governance) -> list[str]:
    """Grants, then ownership: transferring ownership last keeps a non-admin runner able to grant."""
    catalog = checked_name(governance.catalog, "catalog")
    statements = [
        f"GRANT {', '.join(checked_privileges(grant.privileges, grant.securable, 'grant'))} "
        f"ON {_securable(catalog, grant)} TO {_quoted(grant.principal)}"
        for grant in governance.grants
    ]
    owner = _quoted(governance.owner)
    statements.append(f"ALTER CATALOG {catalog} OWNER TO {owner}")
    statements.extend(
        f"ALTER EXTERNAL LOCATION {checked_name(location.name, 'external location')} OWNER TO {owner}"
        for location in governance.external_locations
    )
    return statements


def render_sql(governance: Governance) -> list[str]:
    """Every statement, in the order the setup notebooks run them (00 catalog and locations, 03 grants)."""
    return [*render_catalog_sql(governance), *render_grants_sql(governance)]


def to_script(statements: Sequence[str]) -> str:
    """Statements as one SQL script, each ended by ``;`` on its own line."""
    return "".join(f"{statement};\n" for statement in statements)


def _securable(catalog: str, grant: Grant) -> str:
    if grant.securable == CATALOG:
        return f"CATALOG {catalog}"
    if grant.securable == SCHEMA:
        return f"SCHEMA {catalog}.{checked_name(grant.name, 'schema')}"
    if grant.securable == EXTERNAL_LOCATION:
        return f"EXTERNAL LOCATION {checked_name(grant.name, 'external location')}"
    raise ConfigError(f"grant: securable {grant.securable!r} must be one of {', '.join(SECURABLE_SQL)}.")


def _quoted(principal: str) -> str:
    return f"`{checked_principal(principal, 'grant')}`"


def apply(spark: SparkSession, statements: Sequence[str]) -> list[tuple[str, str]]:
    """Run ``statements`` on Databricks; locally, where Unity Catalog does not exist, skip each one.

    Returns (statement, status) pairs, status ``executed`` or ``skipped: local runtime has no Unity Catalog``.
    """
    if not platform.on_databricks():
        return [(statement, SKIPPED_LOCALLY) for statement in statements]
    results = []
    for statement in statements:
        spark.sql(statement)
        results.append((statement, EXECUTED))
    return results


def counts(results: Sequence[tuple[str, str]]) -> dict[str, int]:
    """How many statements were executed and how many skipped: the setup notebooks' exit value."""
    executed = sum(status == EXECUTED for _, status in results)
    return {"executed": executed, "skipped": len(results) - executed}


def report(results: Sequence[tuple[str, str]], governance: Governance) -> str:
    """One sentence for the notebook: what ran where, or that nothing ran because this is the local runtime."""
    skipped = sum(status == SKIPPED_LOCALLY for _, status in results)
    if skipped:
        return (
            f"Local runtime: Unity Catalog exists only on Databricks, so {skipped} statement(s) for catalog "
            f"{governance.catalog} were skipped, not run. This is the SQL Databricks would run:\n\n"
            + to_script([statement for statement, _ in results])
        )
    return f"{len(results)} statement(s) executed for catalog {governance.catalog}."
