"""The database extract: registrations and gym sessions from a JDBC source to the landing zone as CSV.

``config``: the validated ``[extract]`` section (JDBC URL, driver, secrets, tables and their marks).
``schema``: the source's contract (landing columns, change column) and the embedded SQLite DDL.
``increment``: ranges of marks, deterministic file names, the CSV bytes (pure). ``jdbc``: Spark JDBC reads.
``state``: the mark and pending increment per source, in Delta. ``run``: the resumable extract itself.
"""

from fitlake.extract.config import ExtractConfig, load_extract_config
from fitlake.extract.run import Delivery, deliveries_frame, extract_all

__all__ = ["Delivery", "ExtractConfig", "deliveries_frame", "extract_all", "load_extract_config"]
