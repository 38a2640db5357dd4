"""Bronze rules: malformed rows and records go to quarantine with a reason; Kafka record dates."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from fitlake.contract import GYM_LOGINS, KAFKA_MULTIPLEX, REGISTERED_USERS
from fitlake.parameters import BATCH
from fitlake.streaming import StreamTarget, Trigger, for_each_batch, read_landing
from fitlake.transforms import bronze, checks
from fitlake.transforms.checks import CORRUPT

STAMPS = "load_time TIMESTAMP, source_file STRING"


def test_csv_rows_get_a_reason_for_each_problem(spark):
    rows = spark.createDataFrame(
        [
            (1, 10, "aa", 1.0, None),
            (None, None, None, None, "bad,row"),
            (None, 10, "aa", 1.0, None),
        ],
        bronze.read_schema(REGISTERED_USERS),
    )
    reasons = [r[checks.REASON] for r in checks.with_reason(rows, REGISTERED_USERS.required, "CSV row").collect()]
    assert reasons == [None, "malformed CSV row", "missing user_id"]


def test_quarantine_keeps_the_raw_text_and_the_good_rows_keep_their_columns(spark):
    schema = f"{bronze.read_schema(GYM_LOGINS)}, {STAMPS}"
    now = dt.datetime(2026, 1, 1)
    rows = spark.createDataFrame(
        [("aa", 1, 10.0, 20.0, None, now, "f.csv"), (None, None, None, None, "x,y,z,w,v", now, "f.csv")], schema
    )
    checked = checks.with_reason(rows, GYM_LOGINS.required, "CSV row")
    columns = ("mac_address", "gym", "login", "logout")
    assert bronze.good_rows(checked, columns).count() == 1
    bad = bronze.quarantined(checked, "gym_logins_bz", bronze.csv_raw(columns)).first()
    assert (bad.source, bad.raw, bad.reason, bad.source_file) == (
        "gym_logins_bz",
        "x,y,z,w,v",
        "malformed CSV row",
        "f.csv",
    )


USERS_COLUMNS = REGISTERED_USERS.columns
HEADER_LINE = ",".join(USERS_COLUMNS)
QUOTED_HEADER = "\ufeff" + ",".join(f'"{column}"' for column in USERS_COLUMNS) + "\r"


def csv_rows(spark, *rows: tuple):
    """Registered-user rows as the landing reader gives them without a header option: (file, fields..., corrupt)."""
    now = dt.datetime(2026, 1, 1)
    stamped = [(*fields, now, file) for file, *fields in rows]
    return spark.createDataFrame(stamped, f"{bronze.read_schema(REGISTERED_USERS)}, {STAMPS}")


def csv_reasons(rows) -> list[tuple]:
    checked = bronze.csv_with_reason(rows, USERS_COLUMNS, REGISTERED_USERS.required)
    return sorted(((r.source_file, r.user_id, r[checks.REASON] or "") for r in checked.collect()), key=str)


def test_csv_header_lines_are_dropped_and_a_file_without_the_contracts_header_is_quarantined_whole(spark):
    header = (None, None, "mac_address", None, HEADER_LINE)
    rows = csv_rows(
        spark,
        ("good.csv", *header),
        ("good.csv", 1, 10, "aa", 1.0, None),
        ("quoted.csv", None, None, "mac_address", None, QUOTED_HEADER),  # after a byte order mark, ending in CR
        ("quoted.csv", 2, 10, "aa", 1.0, None),
        ("none.csv", 3, 10, "aa", 1.0, None),  # no header: its first row is not taken for one
        ("moved.csv", None, None, "mac_address", None, "device_id,user_id,mac_address,registration_timestamp"),
        ("moved.csv", 40, 4, "aa", 1.0, None),  # device and user swapped: parses, but must not load
    )
    lacks = f"file lacks the header {HEADER_LINE}"
    assert csv_reasons(rows) == [
        ("good.csv", 1, ""),
        ("moved.csv", 40, lacks),
        ("moved.csv", None, lacks),  # its header line
        ("none.csv", 3, lacks),
        ("quoted.csv", 2, ""),
    ]


def test_csv_text_that_was_not_utf8_is_quarantined(spark):
    header = (None, None, "mac_address", None, HEADER_LINE)
    rows = csv_rows(spark, ("f.csv", *header), ("f.csv", 1, 10, "caf\ufffd", 1.0, None))
    assert csv_reasons(rows) == [("f.csv", 1, "not UTF-8 text")]


def test_a_kafka_line_that_is_not_utf8_says_so(spark):
    """The JSON reader keeps a refused line's bytes as they were: here a line holding the byte E9 (Latin-1 é).
    (A line cut at MAX_LINE_BYTES is tested with a real 100 MB line: tests/integration/test_hostile_input.py.)"""
    line = F.unhex(F.lit("7B226B6579223A2022E9227D")).cast("string")  # {"key": "<E9>"}
    fields = [field.split() for field in bronze.read_schema(KAFKA_MULTIPLEX).split(", ")]
    record = spark.range(1).select(
        *[F.lit(None).cast(kind).alias(name) for name, kind in fields if name != CORRUPT], line.alias(CORRUPT)
    )
    assert bronze.kafka_with_reason(record).first()[checks.REASON] == "not UTF-8 text"


def test_a_changed_file_becomes_one_quarantine_row_naming_it_and_the_times(spark):
    row = bronze.changed_files(spark, "gym_logins_bz", [("file:/l/a.csv", 1678440000000, 1678440001500)]).first()
    assert (row.source, row.raw, row.source_file) == ("gym_logins_bz", None, "file:/l/a.csv")
    assert row.reason.startswith(
        "changed after its stream read it (modified 2023-03-10T09:20:00.000+00:00, now 2023-03-10T09:20:01.500+00:00)"
    )


def test_kafka_records_need_their_fields_and_a_known_topic(spark):
    rows = spark.createDataFrame(
        [
            ("k", "{}", "bpm", 0, 1, 1678451168000, None),
            ("k", "{}", "payments", 0, 2, 1678451168000, None),
            ("k", None, "bpm", 0, 3, 1678451168000, None),
            (None, None, None, None, None, None, "not a record"),
        ],
        bronze.read_schema(KAFKA_MULTIPLEX),
    )
    reasons = [r[checks.REASON] for r in bronze.kafka_with_reason(rows).collect()]
    assert reasons == [None, "unknown topic payments", "missing value", "malformed Kafka record"]


def test_kafka_timestamps_in_seconds_and_milliseconds_give_the_same_date(spark):
    rows = spark.createDataFrame([(1678406399,), (1678406399000,), (1678406400500,)], "timestamp BIGINT")
    dates = [
        r.d for r in rows.select(F.to_date(F.timestamp_seconds(bronze.epoch_seconds("timestamp"))).alias("d")).collect()
    ]
    assert dates == [dt.date(2023, 3, 9), dt.date(2023, 3, 9), dt.date(2023, 3, 10)]


def test_kafka_records_take_week_part_from_the_calendar_with_a_fallback(spark):
    now = dt.datetime(2026, 1, 1)
    records = spark.createDataFrame(
        [("k", "{}", "bpm", 0, 1, 1678451168000, now, "f"), ("k", "{}", "bpm", 0, 2, 1700000000, now, "f")],
        f"key STRING, value STRING, topic STRING, partition INT, offset BIGINT, timestamp BIGINT, {STAMPS}",
    )
    calendar = spark.createDataFrame([(dt.date(2023, 3, 10), "2023-10")], "date DATE, week_part STRING")
    result = bronze.kafka_records(records, calendar).orderBy("offset")
    assertDataFrameEqual(
        result.select("offset", "date", "week_part"),
        spark.createDataFrame(
            [(1, dt.date(2023, 3, 10), "2023-10"), (2, dt.date(2023, 11, 14), "2023-46")],
            "offset BIGINT, date DATE, week_part STRING",
        ),
    )


def test_absurd_times_in_csv_rows_and_kafka_records_are_quarantined(spark):
    rows = spark.createDataFrame([(1, 10, "aa", 1e17, None)], bronze.read_schema(REGISTERED_USERS))
    epochs = [checks.not_an_epoch(c) for c in REGISTERED_USERS.epoch_seconds]
    checked = checks.with_reason(rows, REGISTERED_USERS.required, "CSV row", epochs)
    assert checked.first()[checks.REASON] == "registration_timestamp is not an epoch time"
    record = spark.createDataFrame(
        [("k", "{}", "bpm", 0, 1, 9_000_000_000_000_000_000, None)], bronze.read_schema(KAFKA_MULTIPLEX)
    )
    assert bronze.kafka_with_reason(record).first()[checks.REASON] == "timestamp is not an epoch time"


def test_kafka_source_records_take_the_landing_files_shape(spark):
    """Structured Streaming's Kafka rows (bytes, TIMESTAMP) become the file mode's columns; a tombstone is kept for
    the quarantine check, not dropped."""
    schema = (
        "key BINARY, value BINARY, topic STRING, partition INT, offset BIGINT, timestamp TIMESTAMP, load_time TIMESTAMP"
    )
    at = dt.datetime(2023, 3, 10, 9, 20, 0, 123000)
    loaded = dt.datetime(2026, 1, 1)
    rows = [
        (b"7", b'{"device_id":7}', "bpm", 1, 42, at, loaded),
        (None, None, "user_info", 0, 3, at, loaded),
    ]
    records = bronze.kafka_source_records(spark.createDataFrame(rows, schema))
    expected = spark.createDataFrame(
        [
            ("7", '{"device_id":7}', "bpm", 1, 42, 1678440000123, None, "kafka://bpm/1/42", loaded),
            (None, None, "user_info", 0, 3, 1678440000123, None, "kafka://user_info/0/3", loaded),
        ],
        "key STRING, value STRING, topic STRING, partition INT, offset BIGINT, timestamp BIGINT, "
        f"{checks.CORRUPT} STRING, source_file STRING, load_time TIMESTAMP",
    )
    assertDataFrameEqual(records, expected)
    reasons = bronze.kafka_with_reason(records).select(checks.REASON).collect()
    assert [row[0] for row in reasons] == [None, "missing value"]


def test_the_landing_reader_takes_only_json_lines_that_are_json(spark, tmp_path):
    """A Kafka landing line Spark's default parser would read (single quotes, NaN) arrives as a corrupt record."""
    landing = tmp_path / "kafka_multiplex"
    landing.mkdir()
    good = '{"key": "1", "value": "{}", "topic": "bpm", "partition": 0, "offset": 1, "timestamp": 1678451168}'
    quoted = "{'key': '1', 'value': '{}', 'topic': 'bpm', 'partition': 0, 'offset': 2, 'timestamp': 1678451168}"
    nan = '{"key": "1", "value": "{}", "topic": "bpm", "partition": 0, "offset": NaN, "timestamp": 1678451168}'
    (landing / "part-0.json").write_text("\n".join([good, quoted, nan]) + "\n")
    rows: list = []

    def handle(batch, _batch_id: int) -> None:
        rows.extend(batch.select("offset", CORRUPT).collect())

    stream = read_landing(spark, str(landing), "json", bronze.read_schema(KAFKA_MULTIPLEX))
    target = StreamTarget("unused", str(tmp_path / "checkpoint"), Trigger(BATCH))
    for_each_batch(stream, target, handle).awaitTermination()
    assert sorted((r.offset, r[CORRUPT]) for r in rows if r[CORRUPT] is None) == [(1, None)]
    assert sorted(r[CORRUPT] for r in rows if r[CORRUPT] is not None) == sorted([quoted, nan])
