"""Unity Catalog governance as code: ``config/<environment>.toml`` -> a validated model -> idempotent SQL.

The ``[governance]`` section says what Unity Catalog must hold for an environment: its catalog and the
catalog's managed storage, the external locations over the landing zone and the checkpoints (through one
storage credential), who owns them and which groups may do what. ``[deployment]`` says where the
notebooks go in the workspace and what compute the job runs on. ``fitlake.config`` reads the other
sections; this module reads only these two (plus ``catalog.name`` and ``[storage]``, to check that the
external locations cover the storage paths).

Every name, URL, principal and privilege is validated when the file is loaded (errors name the file and
the key) and again where it is put into SQL, so no string from a config file or a widget reaches
``spark.sql`` unchecked. Principals are always backtick-quoted; one containing a backtick is rejected,
never escaped. Locally there is no Unity Catalog: ``apply`` reports each statement as skipped.
"""

from fitlake.governance.loader import load_deployment, load_governance
from fitlake.governance.model import SECTIONS, Compute, Deployment, ExternalLocation, Governance, Grant
from fitlake.governance.sql import (
    EXECUTED,
    SKIPPED_LOCALLY,
    apply,
    counts,
    render_catalog_sql,
    render_grants_sql,
    render_sql,
    report,
    to_script,
)

__all__ = [
    "EXECUTED",
    "SECTIONS",
    "SKIPPED_LOCALLY",
    "Compute",
    "Deployment",
    "ExternalLocation",
    "Governance",
    "Grant",
    "apply",
    "counts",
    "load_deployment",
    "load_governance",
    "render_catalog_sql",
    "render_grants_sql",
    "render_sql",
    "report",
    "to_script",
]
