"""Deterministic sample data in the landing format, with a ground-truth manifest per set.

``generate(SampleSpec(), out_dir)`` writes two sets (``set1/``, ``set2/``: registered_users, gym_logins,
kafka_multiplex, and date_lookup in set 1) and ``manifest_set<N>.json``, the row counts and exact values the
pipeline's tables must hold after each set. ``shipped_sets_dir()`` holds the default sets, ready to use.
Standard library only, so it runs anywhere (no Spark).
"""

from fitlake.sample.spec import SampleSpec

__all__ = ["SampleSpec", "build_sample", "generate", "shipped_sets", "shipped_sets_dir"]

_FROM_GENERATOR = ("build_sample", "generate", "shipped_sets", "shipped_sets_dir")


def __getattr__(name: str):
    # Imported on first use rather than above: `python -m fitlake.sample.generator` would otherwise find the
    # module already imported by this package and runpy warns that it may run twice.
    if name in _FROM_GENERATOR:
        from fitlake.sample import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'fitlake.sample' has no attribute {name!r}")
