"""Generate the sample landing data and its ground-truth manifests.

``generate(SampleSpec(), out)`` writes ``out/set1/``, ``out/set2/`` (the landing format the pipeline reads),
``out/manifest_set1.json``, ``out/manifest_set2.json`` (what the pipeline's tables must hold after set 1, and
after sets 1 and 2: row counts and a few values) and ``out/expected_set1/``, ``out/expected_set2/`` (every
silver and gold table's full rows then). Pure standard library and seeded: the same spec always gives the
same bytes.

Command line::

    python -m fitlake.sample.generator OUT_DIR [--users N] [--days D] [--seed S] [--start-date yyyy-MM-dd]
        [--bpm-interval SECONDS]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from fitlake.errors import FitlakeError
from fitlake.sample.feed import build_feed
from fitlake.sample.landing import write_set
from fitlake.sample.manifest import build_manifest
from fitlake.sample.model import Sample
from fitlake.sample.rows import expected_tables, write_expected
from fitlake.sample.spec import SETS, SampleSpec, expected_folder, manifest_path, set_folder
from fitlake.sample.world import build_world


def build_sample(spec: SampleSpec) -> Sample:
    """The ground truth of ``spec``: the simulated world and the feed as it lands."""
    rng = random.Random(spec.seed)
    world = build_world(spec, rng)
    return Sample(world, build_feed(world, rng))


def generate(spec: SampleSpec, out_dir: Path) -> dict[int, Path]:
    """Write both sets, both manifests and both sets' expected rows under ``out_dir``; return ``{set number: set
    folder}``.

    Existing ``set<N>/`` and ``expected_set<N>/`` folders under ``out_dir`` are replaced, so no file of an
    earlier run lingers.
    """
    out_dir = Path(out_dir)
    sample = build_sample(spec)
    folders = {}
    for set_no in SETS:
        folder = set_folder(out_dir, set_no)
        if folder.exists():
            shutil.rmtree(folder)
        write_set([item for item in sample.feed if item.set_no == set_no], folder)
        manifest = json.dumps(build_manifest(sample, set_no), indent=2) + "\n"
        manifest_path(out_dir, set_no).write_text(manifest, encoding="utf-8", newline="")
        write_expected(expected_tables(sample, set_no), expected_folder(out_dir, set_no))
        folders[set_no] = folder
    return folders


def shipped_sets_dir() -> Path:
    """Where the two small sets generated with the default ``SampleSpec()`` ship: ``fitlake/sample/data``."""
    return Path(__file__).resolve().parent / "data"


def shipped_sets() -> tuple[Path, ...]:
    """The shipped sets' folders, in the order they land (set 1 first)."""
    return tuple(set_folder(shipped_sets_dir(), set_no) for set_no in SETS)


def shipped_age_as_of() -> str:
    """The date the shipped sets' expected ages are computed on (their manifests hold it): a run of the shipped
    sets must compute ages as of this date to match them."""
    return json.loads(manifest_path(shipped_sets_dir(), SETS[0]).read_text(encoding="utf-8"))["age_as_of"]


def main(argv: Sequence[str] | None = None) -> int:
    defaults = SampleSpec()
    parser = argparse.ArgumentParser(prog="python -m fitlake.sample.generator", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where set1/, set2/ and the manifests go")
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--start-date", default=defaults.start_date)
    parser.add_argument("--bpm-interval", type=int, default=defaults.bpm_interval_seconds)
    args = parser.parse_args(argv)
    try:
        spec = SampleSpec(
            users=args.users,
            days=args.days,
            seed=args.seed,
            start_date=args.start_date,
            bpm_interval_seconds=args.bpm_interval,
        )
        folders = generate(spec, args.out_dir)
    except FitlakeError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    for set_no, folder in folders.items():
        print(f"set {set_no}: {folder}  (expected state: {manifest_path(args.out_dir, set_no)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
