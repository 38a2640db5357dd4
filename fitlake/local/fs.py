"""``dbutils.fs`` over local paths.

Path rules, as on Databricks: ``dbfs:/x`` and a bare ``/x`` name DBFS, which maps to ``<env root>/dbfs/x``;
``/Volumes/...`` (and ``dbfs:/Volumes/...``) map to ``<env root>/Volumes/...``; ``file:/x`` is the local
file ``/x``. Returned paths keep the scheme the caller used.

Confinement: every path, once symlinks are resolved, must lie in one of the fs's roots (the data root, for
the runtime), or, for reading only, in one of its read-only roots (where sample sets come from); anything
else is refused, so a wrong path cannot touch the rest of the machine. Deleting a root itself (``dbfs:/``,
``/Volumes``, a volume, a root) is refused: on a laptop that is the whole environment.
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


# /Volumes/<catalog>/<schema>/<volume>: this deep and above, a path is a volume or holds whole volumes.
_VOLUME_DEPTH = 3


class LocalFs:
    """``dbutils.fs`` confined to ``roots`` (default: the DBFS and volume roots) and ``read_only_roots``."""

    def __init__(
        self,
        dbfs_root: Path,
        volumes_root: Path,
        *,
        roots: tuple[Path, ...] = (),
        read_only_roots: tuple[Path, ...] = (),
    ):
        self._dbfs_root = dbfs_root
        self._volumes_root = volumes_root
        self._roots = tuple(root.resolve() for root in (roots or (dbfs_root, volumes_root)))
        self._read_only_roots = tuple(root.resolve() for root in read_only_roots)

    def to_local(self, path: str, *, writing: bool = True) -> Path:
        """The local file that a Databricks path names; refused when it lies outside the fs's roots.

        ``writing`` False (a source being read) also admits the read-only roots.
        """
        local = self._mapped(path)
        resolved = local.resolve()
        roots = self._roots if writing else self._roots + self._read_only_roots
        if not any(resolved.is_relative_to(root) for root in roots):
            raise FitlakeError(
                f"Path {path!r} is {resolved} (symlinks resolved), outside what dbutils.fs may "
                f"{'change' if writing else 'read'} here: {', '.join(str(root) for root in roots)}. Use a dbfs:/ "
                "or /Volumes/ path, or a file: path under the data root."
            )
        return local

    def _mapped(self, path: str) -> Path:
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
        local = self._existing(path, writing=False)
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
        local = self._existing(path, writing=False)
        if local.is_dir():
            raise FitlakeError(f"{path} is a directory; head reads files.")
        with local.open("rb") as handle:
            return handle.read(maxBytes).decode("utf-8", errors="replace")

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        source, target = self._existing(from_, writing=False), self.to_local(to)
        if source.is_dir():
            if not recurse:
                raise FitlakeError(f"{from_} is a directory; pass recurse=True to copy it.")
            # Links are copied as links: following them would copy in what lies outside the roots.
            shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        source, target = self._existing(from_), self.to_local(to)
        self._refuse_a_root(source, from_, "move")
        if source.is_dir() and not recurse:
            raise FitlakeError(f"{from_} is a directory; pass recurse=True to move it.")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
        return True

    def rm(self, path: str, recurse: bool = False) -> bool:
        local = self.to_local(path)
        self._refuse_a_root(local, path, "delete")
        if local.is_symlink():
            local.unlink()  # the link, never what it points to
            return True
        if not local.exists():
            return False
        if local.is_dir():
            if not recurse and any(local.iterdir()):
                raise FitlakeError(f"{path} is a non-empty directory; pass recurse=True to delete it.")
            shutil.rmtree(local)
        else:
            local.unlink()
        return True

    def _refuse_a_root(self, local: Path, path: str, action: str) -> None:
        """A root, or a folder holding one (the environment's folder holds dbfs/ and Volumes/), stays."""
        resolved = local.resolve()
        volumes = self._volumes_root.resolve()
        roots = {self._dbfs_root.resolve(), volumes, *self._roots, *self._read_only_roots}
        holds_a_root = any(root.is_relative_to(resolved) for root in roots)
        holds_volumes = resolved.is_relative_to(volumes) and len(resolved.relative_to(volumes).parts) <= _VOLUME_DEPTH
        if holds_a_root or holds_volumes:
            raise FitlakeError(
                f"Refusing to {action} {path!r}: it is a root ({resolved}), and everything under it would go "
                f"with it. {action.capitalize()} the folders inside it that you mean."
            )

    def _existing(self, path: str, *, writing: bool = True) -> Path:
        local = self.to_local(path, writing=writing)
        if not local.exists():
            raise FitlakeError(f"java.io.FileNotFoundException: {path} does not exist (locally {local}).")
        return local
