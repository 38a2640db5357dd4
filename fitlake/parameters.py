"""The notebooks' parameters: one spec for the names, defaults and choices that appear as widgets (the driver's,
``notebooks/01_config.py`` and ``05_driver.py``; the sample producer's and test notebook's; the extract's), as the
deployed jobs' parameters and as the CLI's flags.

The CLI's flags and the jobs' parameters are derived from it; the notebooks, which cannot import it before their
widgets exist, are checked against it by a test (``tests/unit/test_parameters.py``), as are ``load_config``'s
arguments. Widget names are the job parameter names and the config keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from fitlake.sample.spec import SETS

# The environments: one Unity Catalog catalog each on Databricks, one folder each locally.
ENVIRONMENTS = ("dev", "qa", "prod")


@dataclass(frozen=True)
class Parameter:
    """``name`` is the widget and the job parameter; ``flag`` the command-line option (``--env`` is every
    command's; empty where there is none); ``choices`` make the widget a dropdown (and the flag a choice);
    ``host`` marks a parameter that names where a credentialed connection goes: it is never a job parameter, so
    that whoever may run the job with parameters cannot send the secret scope's credentials to a host of their
    choice."""

    name: str
    default: str
    flag: str
    help: str
    choices: tuple[str, ...] = ()
    host: bool = False


# The run modes: what is new, then stop; or every flow on its trigger until stopped.
BATCH, CONTINUOUS = "batch", "continuous"

ENVIRONMENT = Parameter("environment", "dev", "--env", "environment", choices=ENVIRONMENTS)
RUN_MODE = Parameter("run_mode", BATCH, "--mode", "batch: what is new, then stop", choices=(BATCH, CONTINUOUS))
LANDING = Parameter("landing", "", "--landing", "landing root override (a path or URI)")
PROCESSING_TIME = Parameter("processing_time", "", "--processing-time", "continuous trigger, e.g. '10 seconds'")
LAYERS = Parameter("layers", "bronze,silver,gold", "--layers", "comma-separated layers to run")
RUN_TIMEOUT_SECONDS = Parameter(
    "run_timeout_seconds", "0", "--timeout", "continuous mode: stop after this many seconds (0 = never)"
)
AGE_AS_OF = Parameter("age_as_of", "", "--age-as-of", "date for age bins (yyyy-MM-dd; default: config)")
BRONZE_SOURCE = Parameter("bronze_source", "", "--bronze-source", "files | kafka (default: config)")
KAFKA_BOOTSTRAP_SERVERS = Parameter(
    "kafka_bootstrap_servers", "", "--kafka-bootstrap-servers", "Kafka mode: default the local broker", host=True
)

DRIVER_PARAMETERS = (
    ENVIRONMENT,
    LANDING,
    PROCESSING_TIME,
    AGE_AS_OF,
    BRONZE_SOURCE,
    KAFKA_BOOTSTRAP_SERVERS,
    RUN_MODE,
    LAYERS,
    RUN_TIMEOUT_SECONDS,
)
# The driver's own widgets (05_driver); the others are 01_config's, which every pipeline notebook shares and
# passes to load_config.
RUN_PARAMETERS = (RUN_MODE, LAYERS, RUN_TIMEOUT_SECONDS)
# What bronze_source may say (empty: the environment's config decides): Kafka records from the landing zone's
# files, or from the topics themselves.
FROM_FILES, FROM_TOPICS = "files", "kafka"
BRONZE_SOURCES = (FROM_FILES, FROM_TOPICS)

# The sample notebooks' widgets: which sample set the producer lands (06_producer) and the test notebook checks
# (07_test), the folder of generated sets (empty: the shipped ones), and where the producer delivers the set: the
# landing zone's files or the Kafka topics, the two places bronze reads Kafka records from (no flag of its own:
# ``fitlake kafka produce`` sets it).
SAMPLE_SETS = tuple(str(number) for number in SETS)
SAMPLE_SET = Parameter("set", SAMPLE_SETS[0], "--set", "the sample set", choices=SAMPLE_SETS)
SET_DIR = Parameter("set_dir", "", "--set-dir", "folder of generated sets (default: the shipped ones)")
DELIVER_TO = Parameter(
    "target", FROM_FILES, "", "deliver to the landing zone's files or the Kafka topics", BRONZE_SOURCES
)
SAMPLE_PARAMETERS = (SAMPLE_SET, SET_DIR, DELIVER_TO)

# The extract notebook's widgets (08_extract): overrides of the environment's extract config. The database URL and
# its driver class decide where, and through what code, the secret scope's database credentials go: hosts, pinned
# to the config's on Databricks.
JDBC_URL = Parameter(
    "jdbc_url", "", "--jdbc-url", "source database (default: config; locally the SQLite file)", host=True
)
JDBC_DRIVER = Parameter("jdbc_driver", "", "--jdbc-driver", "JDBC driver class (default: config)", host=True)
EXTRACT_SOURCES = Parameter(
    "sources", "", "--sources", "comma-separated: registered_users,gym_logins (default: all configured)"
)
EXTRACT_PARAMETERS = (JDBC_URL, JDBC_DRIVER, EXTRACT_SOURCES)
# The dashboard notebook's widget (09_dashboard): how many of the latest days with data its daily charts show.
DAYS_SHOWN = Parameter("days", "30", "", "Days shown in the daily charts (0: all)")
DASHBOARD_PARAMETERS = (DAYS_SHOWN,)
# Every notebook widget with a spec: what a job or task parameter may be named (never a host).
NOTEBOOK_PARAMETERS = (*DRIVER_PARAMETERS, *SAMPLE_PARAMETERS, *EXTRACT_PARAMETERS, *DASHBOARD_PARAMETERS)
