"""The full-disk scenario, run by ``test_chaos.py`` as a script inside a mount namespace of its own
(``unshare -m``) in which ``LAKE`` is a small tmpfs, so that the disk can really fill up:

1. set 1 is landed and run, as on any day;
2. set 2 is landed, and a filler file takes all the free space but ``--leave-kib``;
3. a batch run starts on the full disk: it must fail, saying the disk is full;
4. the filler is deleted and the run started again: it must succeed;
5. the lake is copied to ``COPY`` (outside the tmpfs, which goes with the namespace) for the test to compare.

Writes what happened to ``RESULT`` (JSON). The runs' output goes to ``RESULT``'s folder, not to the full disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from fitlake import chaos
from fitlake.parameters import BATCH
from fitlake.sample.generator import shipped_age_as_of
from fitlake.sample.producer import set_files

FILLER = "filler.bin"


def fill(folder: Path, leave_bytes: int) -> None:
    """A file taking the free space of ``folder``'s file system but ``leave_bytes``."""
    stat = os.statvfs(folder)
    size = max(stat.f_bavail * stat.f_frsize - leave_bytes, 0)
    chunk = b"\0" * (1 << 20)
    with (folder / FILLER).open("wb") as out:
        while size > 0:
            size -= out.write(chunk[: min(size, len(chunk))])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lake", type=Path)
    parser.add_argument("copy", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--sets", nargs=2, type=Path, required=True)
    parser.add_argument("--leave-kib", type=int, default=1024)
    args = parser.parse_args()

    lake = chaos.Lake(args.lake, shipped_age_as_of())
    lake.log = args.result.parent / "runs.log"
    result: dict[str, object] = {}
    lake.land(set_files(args.sets[0]))
    lake.run_alone()
    lake.land(set_files(args.sets[1]))
    fill(args.lake, args.leave_kib * 1024)
    offset = lake.log.stat().st_size
    result["full_disk_exit"] = lake.start(BATCH).wait(chaos.RUN_GUARD_SECONDS)
    with lake.log.open("rb") as log:
        log.seek(offset)
        result["full_disk_output"] = log.read().decode(errors="replace")
    (args.lake / FILLER).unlink()
    lake.run_alone()
    result["rerun"] = "ok"
    shutil.copytree(args.lake, args.copy, symlinks=True)
    args.result.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
