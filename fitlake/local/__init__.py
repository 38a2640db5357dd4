"""The local Databricks runtime: run the repo's notebooks unchanged on PySpark + Delta Lake.

Only the CLI and tests import this package. Notebooks never do: they receive ``spark``, ``dbutils``,
``display`` and ``displayHTML`` from the executor exactly as Databricks provides them.
"""
