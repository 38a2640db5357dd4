"""Write fitlake's tables as Parquet, for the benchmark's equality check against the DuckDB anchor.

One Spark process (the local session, the data root from ``FITLAKE_DATA_ROOT``) reads each named table of the
dev environment and writes it, without the columns that say when or where a row was loaded (``load_time``,
``source_file``), as ``OUT/<schema>.<table>/`` (one Parquet file; timestamps as microseconds).

    python benchmarks/export_tables.py OUT silver.users gold.gym_summary ...
"""

from __future__ import annotations

import sys
from pathlib import Path

from fitlake.local.layout import LocalLayout, resolve_data_root
from fitlake.local.session import local_spark
from fitlake.parameters import ENVIRONMENT

LOAD_COLUMNS = ("load_time", "source_file")


def main(out: Path, tables: list[str]) -> None:
    spark = local_spark(LocalLayout(resolve_data_root(), ENVIRONMENT.default))
    try:
        # Spark's default (INT96) would do too; microseconds are what both sides hold.
        spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        for name in tables:
            rows = spark.table(name)
            rows = rows.drop(*[c for c in LOAD_COLUMNS if c in rows.columns])
            rows.coalesce(1).write.mode("overwrite").parquet(str(out / name))
    finally:
        spark.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
