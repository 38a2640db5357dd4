"""``dbutils.fs`` over local paths.

Path rules, as on Databricks: ``dbfs:/x`` and a bare ``/x`` name DBFS, which maps to ``<env root>/dbfs/x``;
``/Volumes/...`` (and ``dbfs:/Volumes/...``) map to ``<env root>/Volumes/...``; ``file:/x`` is the local
file ``/x``. Returned paths keep the scheme the caller used.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from fitlake.errors import FitlakeError


@dataclass(frozen=True)
class FileInfo:
    """What ``dbutils.fs.ls`` returns: directories end their path and name with ``/``."""

    path: str
    name: str
    size: int
    modificationTime: int  # noqa: N815 (Databricks API)

    def isDir(self) -> bool:  # noqa: N802 (Databricks API)
        return self.name.endswith("/")

    def isFile(self) -> bool:  # noqa: N802 (Databricks API)
        return not self.isDir()


class LocalFs:
    def __init__(self, dbfs_root: Path, volumes_root: Path):
        self._dbfs_root = dbfs_root
        self._volumes_root = volumes_root

    def to_local(self, path: str) -> Path:
        """The local file that a Databricks path names."""
        if path.startswith("file:"):
            return Path("/" + path[len("file:") :].lstrip("/"))
        inner = path[len("dbfs:") :] if path.startswith("dbfs:") else path
        if not inner.startswith("/"):
            raise FitlakeError(
                f"Path {path!r} is relative; dbutils.fs takes absolute paths such as dbfs:/tmp/x, /Volumes/... "
                "or file:/tmp/x."
            )
        parts = [part for part in inner.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise FitlakeError(f"Path {path!r} contains '..'; name the target directly.")
        if parts and parts[0] == "Volumes":
            return self._volumes_root.joinpath(*parts[1:])
        return self._dbfs_root.joinpath(*parts)

    def ls(self, path: str) -> list[FileInfo]:
        local = self._existing(path)
        entries = sorted(local.iterdir()) if local.is_dir() else [local]
        base = path.rstrip("/")
        infos = []
        for entry in entries:
            suffix = "/" if entry.is_dir() else ""
            shown = f"{base}/{entry.name}{suffix}" if local.is_dir() else path
            stat = entry.stat()
            size = 0 if entry.is_dir() else stat.st_size
            infos.append(FileInfo(shown, entry.name + suffix, size, int(stat.st_mtime * 1000)))
        return infos

    def mkdirs(self, path: str) -> bool:
        self.to_local(path).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        local = self.to_local(path)
        if local.exists() and not overwrite:
            raise FitlakeError(f"File {path} already exists; pass overwrite=True to replace it.")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(contents, encoding="utf-8")
        return True

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803 (Databricks API)
        local = self._existing(path)
        if local.is_dir():
            raise FitlakeError(f"{path} is a directory; head reads files.")
        with local.open("rb") as handle:
            return handle.read(maxBytes).decode("utf-8", errors="replace")

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        source, target = self._existing(from_), self.to_local(to)
        if source.is_dir():
            if not recurse:
                raise FitlakeError(f"{from_} is a directory; pass recurse=True to copy it.")
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        source, target = self._existing(from_), self.to_local(to)
        if source.is_dir() and not recurse:
            raise FitlakeError(f"{from_} is a directory; pass recurse=True to move it.")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
        return True

    def rm(self, path: str, recurse: bool = False) -> bool:
        local = self.to_local(path)
        if not local.exists():
            return False
        if local.is_dir():
            if not recurse and any(local.iterdir()):
                raise FitlakeError(f"{path} is a non-empty directory; pass recurse=True to delete it.")
            shutil.rmtree(local)
        else:
            local.unlink()
        return True

    def _existing(self, path: str) -> Path:
        local = self.to_local(path)
        if not local.exists():
            raise FitlakeError(f"java.io.FileNotFoundException: {path} does not exist (locally {local}).")
        return local
