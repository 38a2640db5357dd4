"""Config as validated data: unknown keys, missing values and bad names fail with file, key and what is expected."""

from __future__ import annotations

import datetime as dt

import pytest
from configfiles import edit

from fitlake.config import CONFIG_DIR, ENVIRONMENTS, LOCAL_CATALOG, MAX_WORKOUT_HOURS_BOUNDS, load_config
from fitlake.errors import ConfigError
from fitlake.extract.config import BOUNDS as EXTRACT_BOUNDS
from fitlake.governance.loader import COMPUTE_BOUNDS
from fitlake.kafka.settings import BOUNDS as KAFKA_BOUNDS


@pytest.mark.parametrize("env", ["dev", "qa", "prod"])
def test_every_shipped_environment_loads(spark, env):
    config = load_config(spark, env, age_as_of="2026-01-01")
    assert config.environment == env and config.max_workout_hours == 3
    assert config.catalog == LOCAL_CATALOG  # locally: the session catalog, whatever the file says
    assert config.landing.startswith("file:") and config.landing.endswith("/landing")
    assert config.table("silver", "users") == "spark_catalog.silver.users"


def test_on_databricks_the_files_catalog_and_storage_are_used(spark, monkeypatch):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    config = load_config(spark, "prod")
    assert config.catalog == "fitlake_prod"
    assert config.landing.startswith("abfss://landing@fitlakeprod")


def test_widget_values_override_the_file(spark):
    config = load_config(spark, "dev", landing="file:/tmp/x", processing_time="5 seconds", age_as_of="2020-02-29")
    assert (config.landing, config.processing_time, config.age_as_of) == (
        "file:/tmp/x",
        "5 seconds",
        dt.date(2020, 2, 29),
    )


def test_a_run_describes_its_configuration_in_one_line_naming_the_secret_scope_only(spark, monkeypatch):
    config = load_config(spark, "dev", landing="file:/tmp/x", processing_time="5 seconds", age_as_of="2020-02-29")
    assert config.describe() == (
        f"config dev: catalog {config.catalog}; landing file:/tmp/x; checkpoints {config.checkpoints}; Kafka "
        "records from the landing files; continuous trigger 5 seconds; workouts under 3 h; ages as of 2020-02-29"
    )
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    line = load_config(spark, "prod", bronze_source="kafka").describe()
    topics = "Kafka records from the topics at fitlake-prod.servicebus.windows.net:9093 (SASL_SSL, credentials from "
    assert topics + "secret scope fitlake-prod)" in line and "\n" not in line
    kafka = load_config(spark, "prod", bronze_source="kafka").kafka
    assert kafka.password_key not in line and kafka.username_key not in line  # the scope is named, no key of it


def test_age_as_of_defaults_to_today(spark):
    assert load_config(spark, "dev").age_as_of == dt.datetime.now(dt.timezone.utc).date()


def test_unknown_environment(spark):
    with pytest.raises(ConfigError, match="dev, qa, prod"):
        load_config(spark, "dev; DROP CATALOG prod")


def test_unknown_key_names_file_and_key(spark, config_dir):
    edit(config_dir, "max_workout_hours = 3", "max_workout_hours = 3\nmax_workout_hour = 4")
    with pytest.raises(ConfigError, match=r"dev.toml: unknown key pipeline.max_workout_hour"):
        load_config(spark, "dev", config_dir=config_dir)


def test_missing_value_names_file_key_and_type(spark, config_dir):
    edit(config_dir, "max_workout_hours = 3\n", "")
    with pytest.raises(ConfigError, match=r"max_workout_hours is missing \(a whole number expected\)") as error:
        load_config(spark, "dev", config_dir=config_dir)
    assert str(error.value).startswith(f"{config_dir / 'dev.toml'}: ")


def test_wrong_type(spark, config_dir):
    edit(config_dir, "max_workout_hours = 3", 'max_workout_hours = "3"')
    with pytest.raises(ConfigError, match="must be a whole number, got str"):
        load_config(spark, "dev", config_dir=config_dir)


def test_catalog_name_must_be_an_identifier(spark, config_dir):
    edit(config_dir, 'name = "fitlake_dev"', 'name = "dev`; DROP"')
    with pytest.raises(ConfigError, match="Invalid catalog name"):
        load_config(spark, "dev", config_dir=config_dir)


@pytest.mark.parametrize(("field", "value"), [("processing_time", "soon"), ("age_as_of", "01/01/2026")])
def test_bad_widget_values(spark, field, value):
    with pytest.raises(ConfigError):
        load_config(spark, "dev", **{field: value})


def test_unknown_section_names_file_and_section(spark, config_dir):
    edit(config_dir, "[pipeline]", "[pipelines]\nx = 1\n\n[pipeline]")
    with pytest.raises(ConfigError, match=r"dev.toml: unknown section \[pipelines\]"):
        load_config(spark, "dev", config_dir=config_dir)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("0", "0"), ("169", "169"), ("9223372036854775807", "9,223,372,036,854,775,807"), ("-3", "-3")],
)
def test_max_workout_hours_must_lie_within_a_week(spark, config_dir, value, shown):
    path = edit(config_dir, "max_workout_hours = 3", f"max_workout_hours = {value}")
    with pytest.raises(ConfigError) as error:
        load_config(spark, "dev", config_dir=config_dir)
    assert str(error.value) == f"{path}: pipeline.max_workout_hours must be from 1 to 168, got {shown}."


def test_an_integer_too_long_for_python_names_the_file(spark, config_dir):
    path = edit(config_dir, "max_workout_hours = 3", "max_workout_hours = " + "9" * 5000)
    with pytest.raises(ConfigError, match="is not valid TOML") as error:
        load_config(spark, "dev", config_dir=config_dir)
    assert str(error.value).startswith(str(path))


def test_a_file_that_is_not_utf8_names_the_file(spark, config_dir):
    path = config_dir / "dev.toml"
    path.write_bytes(path.read_bytes().replace(b'"30 seconds"', b'"30 s\xe9conds"'))
    with pytest.raises(ConfigError, match="is not UTF-8 text") as error:
        load_config(spark, "dev", config_dir=config_dir)
    assert str(error.value).startswith(str(path))


def test_a_deeply_nested_file_names_the_file(spark, config_dir):
    path = config_dir / "dev.toml"
    path.write_text(path.read_text() + "\n[pipelines_x]\ndeep = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match="too deeply") as error:
        load_config(spark, "dev", config_dir=config_dir)
    assert str(error.value).startswith(str(path))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_files_comments_state_the_bounds_the_code_checks(env):
    """The bounds' owners are the readers; the files document them for whoever edits a value."""
    lines = (CONFIG_DIR / f"{env}.toml").read_text().splitlines()
    bounds = {"max_workout_hours": MAX_WORKOUT_HOURS_BOUNDS, **EXTRACT_BOUNDS, **KAFKA_BOUNDS, **COMPUTE_BOUNDS}
    for key, (low, high) in bounds.items():
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
        comments = " ".join(line for line in lines[max(0, index - 3) : index] if line.startswith("#"))
        assert f"{low:,} to {high:,}" in comments or (low == 0 and f"at most {high:,}" in comments), key
