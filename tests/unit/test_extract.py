"""The database extract's pure parts and its config: increments, names, CSV bytes, the loader, validation."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from configfiles import edit

from fitlake.config import load_config
from fitlake.errors import ConfigError
from fitlake.extract.config import SQLITE_DRIVER, load_extract_config
from fitlake.extract.increment import Increment, csv_text, read_from
from fitlake.extract.jdbc_url import checked_jdbc_url
from fitlake.sample.database import load_set
from fitlake.sample.generator import shipped_sets

LATE_LOGOUT_VISIT = ("14:0a:19:71:17:44", 2, 1678187793.0)


# --- increments -------------------------------------------------------------------------------------------


def test_file_names_are_a_function_of_the_range_alone():
    assert Increment("gym_logins", None, 20).file_name == "gym_logins-start-20.csv"
    assert Increment("gym_logins", 20, 30).file_name == "gym_logins-20-30.csv"
    # Distinct increments never share a name, so a recovering run cannot take one's file for another's.
    ranges = ((None, 20), (None, 30), (10, 30), (20, 30))
    increments = [Increment(source, *bounds) for source in ("gym_logins", "registered_users") for bounds in ranges]
    assert len({increment.file_name for increment in increments}) == len(increments) == 8
    assert Increment("gym_logins", 20, 30).hidden_name == ".gym_logins-20-30.csv.incoming"


def test_an_increment_is_never_empty_or_inverted():
    with pytest.raises(ValueError, match="below its high"):
        Increment("gym_logins", 30, 30)


def test_the_next_increment_starts_at_the_mark_less_the_overlap():
    assert read_from(None, 5) is None  # nothing delivered yet: from the start
    assert read_from(20, 0) == 20
    assert read_from(20, 5) == 15


def test_csv_text_is_the_landing_format_and_keeps_bad_values():
    text = csv_text(("mac_address", "gym", "login", "logout"), [("a", "1", "2.5", None), ("b,c", "x", "", "3")])
    assert text == 'mac_address,gym,login,logout\na,1,2.5,\n"b,c",x,,3\n'
    assert list(csv.reader(io.StringIO(text)))[2] == ["b,c", "x", "", "3"]


INJECTING_MAC = "AA:BB\r999,888,EV:IL:00:00:00:01,1700000000\r"


@pytest.mark.parametrize("value", ["AA:BB\r999", "AA:BB\n999", INJECTING_MAC, 'a"b'])
def test_csv_text_quotes_a_value_holding_a_line_break_so_it_cannot_add_rows(value):
    text = csv_text(("user_id", "mac_address"), [("1", value)])
    assert text == 'user_id,mac_address\n1,"' + value.replace('"', '""') + '"\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["user_id", "mac_address"], ["1", value]]
    # A reader that ends a line at any CR or LF outside quotes sees exactly one data line.
    outside_quotes = text.split('"')[::2]
    assert sum(part.count("\r") + part.count("\n") for part in outside_quotes) == 2


# --- the SQLite source and its loader ---------------------------------------------------------------------


def _sessions(database: Path) -> dict[tuple, tuple]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT mac_address, gym, login, logout, row_version FROM gym_sessions").fetchall()
    return {row[:3]: row[3:] for row in rows}


def test_a_late_logout_updates_its_visit_and_raises_its_change_column(tmp_path: Path):
    database = tmp_path / "source.sqlite"
    load_set(database, shipped_sets()[0])
    logout_before, version_before = _sessions(database)[LATE_LOGOUT_VISIT]
    result = load_set(database, shipped_sets()[1])
    sessions = _sessions(database)
    logout_after, version_after = sessions[LATE_LOGOUT_VISIT]
    assert (logout_before, logout_after) == (1678192530.0, 1678193790.0)
    assert version_after > version_before
    assert len([key for key in sessions if key == LATE_LOGOUT_VISIT]) == 1  # updated, not inserted again
    assert result.sessions_unchanged == 1  # a re-sent older logout changes nothing (silver keeps the latest)


def test_malformed_values_are_stored_as_written(tmp_path: Path):
    database = tmp_path / "source.sqlite"
    load_set(database, shipped_sets()[0])
    with sqlite3.connect(database) as connection:
        (text,) = connection.execute(
            "SELECT registration_timestamp FROM registrations WHERE typeof(registration_timestamp) = 'text'"
        ).fetchone()
    assert text == "2023-03-05T10:01:40Z"


# --- config -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "qa", "prod"])
def test_locally_the_source_is_the_sqlite_file_under_the_data_root(spark, env):
    extract = load_extract_config(spark, env)
    landing = load_config(spark, env).landing.removeprefix("file:")
    assert extract.jdbc_url == f"jdbc:sqlite:{landing.removesuffix('/landing')}/sources/fitlake.sqlite"
    assert (extract.jdbc_driver, extract.secret_scope) == (SQLITE_DRIVER, "")
    assert extract.jdbc_options(lambda scope, key: pytest.fail("no secrets locally")) == {
        "url": extract.jdbc_url,
        "driver": SQLITE_DRIVER,
    }
    assert [(t.source, t.mark) for t in extract.tables] == [
        ("registered_users", "row_version"),
        ("gym_logins", "row_version"),
    ]


def test_on_databricks_url_driver_and_credentials_come_from_the_file_and_secrets(spark, monkeypatch):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    extract = load_extract_config(spark, "prod")
    assert extract.jdbc_url.startswith("jdbc:sqlserver://")
    options = extract.jdbc_options(lambda scope, key: f"<{scope}/{key}>")
    assert (options["user"], options["password"]) == ("<fitlake-prod/gyms-db-user>", "<fitlake-prod/gyms-db-password>")


@pytest.mark.parametrize(
    ("widget", "value"),
    [("jdbc_url", "jdbc:sqlserver://attacker.example:1433;database=x"), ("jdbc_driver", "org.example.Logger")],
)
def test_on_databricks_a_widget_cannot_send_the_database_credentials_elsewhere(spark, monkeypatch, widget, value):
    """Trust issue, HIGH: the URL and the driver class decide where the user and password go."""
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "18.0")
    with pytest.raises(ConfigError, match=f"{widget} widget may not change"):
        load_extract_config(spark, "prod", **{widget: value})
    configured = load_extract_config(spark, "prod")
    same = load_extract_config(spark, "prod", jdbc_url=configured.jdbc_url, jdbc_driver=configured.jdbc_driver)
    assert same == configured


def test_widget_values_override_url_and_driver(spark):
    extract = load_extract_config(spark, "dev", jdbc_url="jdbc:sqlite:/tmp/other.db", jdbc_driver="x.Driver")
    assert (extract.jdbc_url, extract.jdbc_driver) == ("jdbc:sqlite:/tmp/other.db", "x.Driver")
    with pytest.raises(ConfigError, match="must start with 'jdbc:'"):
        load_extract_config(spark, "dev", jdbc_url="sqlite:/tmp/other.db")


# --- JDBC URLs: no credentials in them ----------------------------------------------------------------------

SQL_SERVER = "jdbc:sqlserver://fitlake-dev.database.windows.net:1433"


@pytest.mark.parametrize(
    "url",
    [
        f"{SQL_SERVER};database=gyms;encrypt=true;trustServerCertificate=false;loginTimeout=30",
        f"{SQL_SERVER};databaseName=gyms;hostNameInCertificate=*.database.windows.net;applicationName=fitlake;",
        "jdbc:postgresql://db.example:5432/gyms?ssl=true&sslmode=require&currentSchema=app&connectTimeout=5",
        "jdbc:sqlite:/tmp/some dir/fitlake.sqlite",
    ],
)
def test_a_jdbc_url_with_only_connection_settings_is_accepted(url):
    assert checked_jdbc_url(url, "extract.jdbc_url").url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("jdbc:postgresql://reader:hunter2@db.example/gyms", "names a user"),
        ("jdbc:sqlserver://reader@db.example;database=gyms", "names a user"),
        (f"{SQL_SERVER};database=gyms;PWD=hunter2", "property 'PWD' is not allowed"),
        (f"{SQL_SERVER};database=gyms;password=hunter2", "property 'password' is not allowed"),
        (f"{SQL_SERVER};accessToken=hunter2", "property 'accessToken' is not allowed"),
        (f"{SQL_SERVER};user=reader", "property 'user' is not allowed"),
        ("jdbc:postgresql://db.example/gyms?ssl=true&password=hunter2", "property 'password' is not allowed"),
        ("jdbc:sqlite:/tmp/x.db?password=hunter2", "property 'password' is not allowed"),
        ("jdbc:oracle:thin:reader/hunter2@db.example:1521/gyms", "must have the form"),
        ("jdbc:sqlserver://;database=gyms", "names no host"),
        ("sqlite:/tmp/x.db", "must start with 'jdbc:'"),
    ],
)
def test_a_jdbc_url_holding_credentials_or_unknown_properties_is_refused(url, message):
    with pytest.raises(ConfigError, match=message) as error:
        checked_jdbc_url(url, "extract.jdbc_url")
    assert "hunter2" not in str(error.value) and "extract.jdbc_url" in str(error.value)


def test_the_shown_url_leaves_out_every_property():
    url = f"{SQL_SERVER};database=gyms;encrypt=true"
    assert checked_jdbc_url(url, "x").shown == SQL_SERVER
    assert checked_jdbc_url("jdbc:postgresql://db.example:5432/gyms?ssl=true", "x").shown == (
        "jdbc:postgresql://db.example:5432/gyms"
    )


def test_the_extract_notebook_prints_the_shown_url_only():
    notebook = (Path(__file__).resolve().parents[2] / "notebooks" / "08_extract.py").read_text()
    assert "extract_config.shown_url" in notebook and "extract_config.jdbc_url" not in notebook


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("overlap = 0", "overlap = -1", "extract.overlap must be from 0 to 1,000,000,000, got -1"),
        ("overlap = 0", "overlap = 9223372036854775807", "extract.overlap must be from 0 to"),
        ("overlap = 0", 'overlap = "0"', "extract.overlap must be a whole number"),
        ("overlap = 0\n", "", "extract.overlap is missing"),
        ("max_rows_per_file = 100000", "max_rows_per_file = 0", "max_rows_per_file must be from 1 to 10,000,000"),
        ("max_rows_per_file = 100000", "max_rows_per_file = 1\nbatch = 2", "unknown key extract.batch"),
        ('table = "gym_sessions_extract"', 'table = "x; DROP TABLE y"', "must be a name like gym_sessions"),
        ('table = "gym_sessions_extract"', 'table = "gym_sessions_extract\\n"', "must be a name like gym_sessions"),
        (
            'gym_sessions_extract"\nmark = "row_version"',
            'gym_sessions_extract"\nmark = "row_version\\n"',
            "must be a column name",
        ),
        (
            'gym_sessions_extract"\nmark = "row_version"',
            'gym_sessions_extract"\nmark = "row version"',
            "must be a column name",
        ),
        ("[extract.tables.gym_logins]", "[extract.tables.gym_visits]", "unknown source"),
        ('user_key = "gyms-db-user"', 'user_key = ""', "user_key and password_key must be too"),
        (";loginTimeout=30", ";password=hunter2", "keep credentials in secrets"),
        ("database.windows.net:1433", "database.windows.net:1433;PWD=hunter2", "property 'PWD' is not allowed"),
        ("[extract]", "[extract_x]", "unknown section"),
    ],
)
def test_a_bad_extract_section_fails_with_file_key_and_what_to_do(spark, config_dir, old, new, message):
    edit(config_dir, old, new)
    with pytest.raises(ConfigError, match=message):
        load_config(spark, "dev", config_dir=config_dir)
        load_extract_config(spark, "dev", config_dir=config_dir)
