"""The hostile and drifting input corpus (``tests/hostile_input/``, its README the table of outcomes), landed
beside good rows: each item is loaded, quarantined with its reason or refused with a clear error, no run
crashes and every good row arrives.

Three batch runs over one lake, so the module costs a few runs, not one per item: the corpus as landed; then
what producers do next (rewrite a file in place, finish a file the stream read half-written, publish a file
written under a hidden name, land the same content under a new name, copy in a file with an old timestamp, land
a CSV file with a 100 MB field): a run refused for that file when its flow starts, and a run once it is set
aside. The two files of 100 MB are written here, never committed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from lake import fresh_lake
from pyspark.sql import functions as F

from fitlake import pipeline
from fitlake.contract import MAX_LINE_BYTES
from fitlake.errors import LandingError
from fitlake.tables import BRONZE, GOLD, SILVER

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parent.parent / "hostile_input"
T0 = 1678440000  # 2023-03-10 09:20:00 UTC: workout 7 of user 1 runs from T0 to T0 + 1800
HUNDRED_MB = 100 * 1024 * 1024
USERS_HEADER = "user_id,device_id,mac_address,registration_timestamp"
LOGINS_HEADER = "mac_address,gym,login,logout"
CHANGED = "changed after its stream read it"

# (device, seconds after T0, heartrate) of every good reading landed before the first run, by file.
READINGS = {
    "records.json": [(101, 60, 100.0), (101, 120, 110.0)],
    "not-utf8.json": [(101, 480, 105.0)],
    "long-line.json": [(101, 540, 115.0), (101, 720, 98.0)],
    "payload-drift.json": [(101, 180, 120.0), (101, 240, 130.0)],
    "partial.json": [(101, 600, 100.0)],
}
OLD_FILE_READING = (101, 900, 95.0)
MAC = "aa:00:00:00:00:0{}".format


def record(offset: int, topic: str, payload: dict) -> str:
    value = json.dumps(payload)
    line = {"key": "k", "value": value, "topic": topic, "partition": 0, "offset": offset, "timestamp": T0 * 1000}
    return json.dumps(line)


def bpm(offset: int, device: int, after: int, rate: float, **more: object) -> str:
    return record(offset, "bpm", {"device_id": device, "time": T0 + after, "heartrate": rate, **more})


def write_long_json_line(path: Path) -> None:
    """Two good records around a record of 100 MB (its payload padded), one line each."""
    (first, second) = READINGS["long-line.json"]
    with path.open("w") as out:
        out.write(bpm(51, *first) + "\n")
        out.write(bpm(52, 101, 500, 1.0, pad="x" * HUNDRED_MB) + "\n")
        out.write(bpm(53, *second) + "\n")


def write_long_csv_field(path: Path) -> None:
    """A gym visit whose MAC address is 100 MB long, then a good one."""
    with path.open("w") as out:
        out.write(f"{LOGINS_HEADER}\n{'m' * HUNDRED_MB},7,1678439400,1678443000\n{MAC(8)},7,1678439400,1678443000\n")


def land_folder(corpus: Path, landing: Path) -> None:
    for source in corpus.iterdir():
        shutil.copytree(source, landing / source.name, dirs_exist_ok=True)


def rows(spark, config, layer: str, table: str, *columns: str) -> set[tuple]:  # noqa: ANN001
    return {tuple(row) for row in spark.table(config.table(layer, table)).select(*columns).collect()}


def quarantine(spark, config, layer: str = BRONZE) -> list[tuple]:  # noqa: ANN001
    """(source, file name, reason) of each quarantine row, sorted."""
    table = spark.table(config.table(layer, "quarantine"))
    if layer == SILVER:
        return sorted((row.source, row.reason) for row in table.collect())
    name = F.element_at(F.split("source_file", "/"), -1)
    return sorted(tuple(row) for row in table.select("source", name, "reason").collect())


def readings(spark, config) -> set[tuple]:  # noqa: ANN001
    seconds = F.unix_timestamp("time") - F.lit(T0)
    return rows(spark, config, SILVER, "heart_rate", "device_id", seconds, "heartrate")


def workout_summary(spark, config) -> list[tuple]:  # noqa: ANN001
    columns = ("workout_id", "user_id", "gender", "city", "min_bpm", F.round("avg_bpm", 6), "max_bpm", "num_recordings")
    return [tuple(row) for row in spark.table(config.table(GOLD, "workout_bpm_summary")).select(*columns).collect()]


def summary_of(values: list[float]) -> tuple:
    return (7, 1, "F", "Oslo", min(values), round(sum(values) / len(values), 6), max(values), len(values))


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - (config, landing, first run's summary)
    """The corpus's ``landed/`` files and the 100 MB JSON line in a fresh lake, after one batch run."""
    root = tmp_path_factory.mktemp("hostile-lake")
    config = fresh_lake(spark, root)
    landing = root / "landing"
    land_folder(CORPUS / "landed", landing)
    write_long_json_line(landing / "kafka_multiplex" / "long-line.json")
    return config, landing, pipeline.run(spark, config)


def test_the_landed_corpus_is_loaded_or_quarantined_and_every_good_row_arrives(spark, lake):
    config, _, summary = lake
    lacks_users_header = f"file lacks the header {USERS_HEADER}"
    lacks_logins_header = f"file lacks the header {LOGINS_HEADER}"
    assert quarantine(spark, config) == [
        ("gym_logins_bz", "no-header.csv", lacks_logins_header),  # both rows: none taken for the header
        ("gym_logins_bz", "no-header.csv", lacks_logins_header),
        ("gym_logins_bz", "removed-column.csv", lacks_logins_header),  # its header line and its row
        ("gym_logins_bz", "removed-column.csv", lacks_logins_header),
        ("kafka_multiplex_bz", "long-line.json", f"line longer than {MAX_LINE_BYTES} bytes, cut"),
        ("kafka_multiplex_bz", "not-utf8.json", "not UTF-8 text"),
        ("kafka_multiplex_bz", "partial.json", "malformed Kafka record"),  # the cut last line
        ("registered_users_bz", "new-column.csv", lacks_users_header),
        ("registered_users_bz", "new-column.csv", lacks_users_header),
        ("registered_users_bz", "not-utf8.csv", "not UTF-8 text"),
        ("registered_users_bz", "reordered-columns.csv", lacks_users_header),
        ("registered_users_bz", "reordered-columns.csv", lacks_users_header),
    ]
    assert quarantine(spark, config, SILVER) == [
        ("heart_rate", "device_id is not a BIGINT"),
        ("heart_rate", "heartrate is not a DOUBLE"),
        ("heart_rate", "missing heartrate"),
    ]
    assert summary.quarantined == {
        "bronze.registered_users_bz": 5,
        "bronze.gym_logins_bz": 4,
        "bronze.kafka_multiplex_bz": 3,
        "silver.heart_rate": 3,
    }
    # What the quarantine keeps: the CSV row as decoded (U+FFFD, EF BF BD, for the byte E9), the JSON line's own
    # bytes (E9 after "Zo"), the long line's first MAX_LINE_BYTES.
    raws = spark.table(config.table(BRONZE, "quarantine")).select(
        F.element_at(F.split("source_file", "/"), -1).alias("file"), F.octet_length("raw").alias("bytes"), "raw"
    )
    assert raws.where("file = 'long-line.json'").first().bytes == MAX_LINE_BYTES
    not_utf8 = raws.where(F.col("file").startswith("not-utf8")).select("file", F.hex("raw").alias("hex"))
    hexes = {row.file: row.hex for row in not_utf8.collect()}
    assert hexes["not-utf8.csv"].startswith(b"4,104,caf".hex().upper() + "EFBFBD")
    assert "5A6FE9" in hexes["not-utf8.json"]

    # Every good row arrived, the neighbours of each bad one included; the hidden file is not read yet.
    assert rows(spark, config, SILVER, "users", "user_id", "device_id", "mac_address") == {
        (1, 101, MAC(1)),
        (2, 102, MAC(2)),
        (3, 103, MAC(3)),
    }
    assert rows(spark, config, SILVER, "gym_logs", "mac_address", "gym") == {(MAC(1), 5), (MAC(2), 5)}
    assert readings(spark, config) == {reading for found in READINGS.values() for reading in found}
    # A removed optional field loads as null (user 2's dob and address); a new field is ignored (spo2) and kept
    # in bronze's value, as is a new field of the record itself (headers), which bronze drops.
    assert rows(spark, config, SILVER, "user_profile", "user_id", "dob", "city") == {
        (1, dt.date(1990, 6, 15), "Oslo"),
        (2, None, None),
    }
    values = {row.value for row in spark.table(config.table(BRONZE, "kafka_multiplex_bz")).collect()}
    assert any('"spo2": 97' in value for value in values)
    every = [rate for found in READINGS.values() for _, _, rate in found]
    assert workout_summary(spark, config) == [summary_of(every)]


def test_what_producers_do_next_is_refused_reported_loaded_or_deduplicated(spark, lake):
    config, landing, _ = lake
    kafka, logins, users = landing / "kafka_multiplex", landing / "gym_logins", landing / "registered_users"
    bronze_before = spark.table(config.table(BRONZE, "kafka_multiplex_bz")).count()
    time.sleep(0.01)  # a later modification time than the first run saw, on any file system clock
    shutil.copy(CORPUS / "later" / "gym_logins" / "rewritten.csv", logins / "rewritten.csv")  # rewritten in place
    shutil.copy(CORPUS / "later" / "kafka_multiplex" / "partial.json", kafka / "partial.json")  # writer finished
    (users / ".users-late.csv.incoming").rename(users / "users-late.csv")  # published by its rename
    shutil.copy(kafka / "records.json", kafka / "records-again.json")  # the same content, a new name
    old = kafka / "old-mtime.json"
    shutil.copy(CORPUS / "later" / "kafka_multiplex" / "old-mtime.json", old)
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))  # copied with its timestamp kept (cp -p)
    write_long_csv_field(logins / "long-field.csv")
    logins_before = spark.table(config.table(BRONZE, "gym_logins_bz")).count()

    # The CSV file with a 100 MB field is refused when its flow starts, before its stream reads anything: the run
    # stops, and the flow started before it (registered users) is stopped too. The flow's folder was checked
    # for changed files first: the rewrite is reported in this run.
    with pytest.raises(LandingError, match=r"long-field\.csv holds a CSV field longer than") as refused:
        pipeline.run(spark, config)
    assert "rename it to start with _" in str(refused.value)
    assert spark.table(config.table(BRONZE, "gym_logins_bz")).count() == logins_before
    assert not [query for query in spark.streams.active]
    (logins / "long-field.csv").rename(logins / "_long-field.csv")  # set aside, as the error says

    summary = pipeline.run(spark, config)

    # A changed file is reported once (the rewrite, already reported, is not reported again), by name; what
    # changed is not loaded (the rewrite's visits, the finished record), and what was loaded before stays.
    reported = [(source, name) for source, name, reason in quarantine(spark, config) if reason.startswith(CHANGED)]
    assert reported == [("gym_logins_bz", "rewritten.csv"), ("kafka_multiplex_bz", "partial.json")]
    assert summary.quarantined == {"bronze.kafka_multiplex_bz": 1}
    assert rows(spark, config, SILVER, "gym_logs", "mac_address", "gym", "logout") == {
        (MAC(1), 5, dt.datetime(2023, 3, 10, 10, 10)),
        (MAC(2), 5, dt.datetime(2023, 3, 10, 10, 10)),
    }
    # The renamed file and the old-timestamped one are read, the set-aside one is not (the gym visits above); the
    # copy is loaded into bronze again and changes no silver or gold row (MERGEs on natural keys).
    assert rows(spark, config, SILVER, "users", "user_id") == {(1,), (2,), (3,), (6,)}
    expected = {reading for found in READINGS.values() for reading in found} | {OLD_FILE_READING}
    assert readings(spark, config) == expected
    bronze = spark.table(config.table(BRONZE, "kafka_multiplex_bz"))
    again = bronze.where(F.col("source_file").endswith("/records-again.json")).count()
    assert again == len(READINGS["records.json"]) + 3 and bronze.count() == bronze_before + again + 1
    every = [rate for found in READINGS.values() for _, _, rate in found] + [OLD_FILE_READING[2]]
    assert workout_summary(spark, config) == [summary_of(every)]
