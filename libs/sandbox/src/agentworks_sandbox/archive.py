"""A working copy as a gzipped tarball, and a fingerprint that tells whether a command changed it."""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import shutil
import tarfile
from pathlib import Path


def pack(directory: Path) -> bytes:
    """The directory's tree; links are stored as links, never followed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for entry in sorted(directory.iterdir()):
            tar.add(entry, arcname=entry.name, recursive=True)
    return buffer.getvalue()


def unpack(data: bytes, directory: Path, *, keep: str | None = None) -> None:
    """Extracts into ``directory``, skipping any member that would land or point outside it, or is a device; with
    ``keep``, also any member at or under that top-level name, or a link that leads there."""

    def accepted(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
        if keep is not None and _reaches(member, keep):
            return None
        return _inside_only(member, destination)

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(directory, filter=accepted)  # noqa: S202 - every member passes the data filter


def replace_contents(directory: Path, data: bytes, *, keep: str | None = None) -> None:
    """Makes ``directory`` hold exactly the tarball's tree (the directory itself stays, with its owner); the local
    top-level entry ``keep`` stays as it is and nothing of the tarball's replaces or reaches it."""
    for entry in directory.iterdir():
        if entry.name == keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    unpack(data, directory, keep=keep)


def fingerprint(directory: Path) -> str:
    """A digest of every entry's path, kind, mode and content (a link's target, not what it points to)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs.sort()
        for name in sorted([*dirs, *files]):
            path = Path(root, name)
            status = path.lstat()
            digest.update(f"{path.relative_to(directory)}\0{status.st_mode}\0".encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            elif path.is_file():
                with path.open("rb") as file:
                    digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()


def _inside_only(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    try:
        return tarfile.data_filter(member, destination)
    except tarfile.FilterError:
        return None


def _reaches(member: tarfile.TarInfo, name: str) -> bool:
    """Whether the member is at or under the top-level ``name``, or is a link whose target is."""
    paths = [posixpath.normpath(member.name)]
    if member.issym():
        paths.append(posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname)))
    elif member.islnk():
        paths.append(posixpath.normpath(member.linkname))
    return any(path.lstrip("/").split("/", 1)[0] == name for path in paths)
