"""fitlake: a notebook-first fitness lakehouse for Databricks that also runs locally.

The package holds every piece of shared Python: transforms per layer, streaming I/O, configuration,
the sample-data generator, the local runtime (``fitlake.local``) and the CLI. Notebooks import from it;
no notebook imports ``fitlake.local``, which exists only to run them where Databricks is absent.
"""

__version__ = "0.1.0"
