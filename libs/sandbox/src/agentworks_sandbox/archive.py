"""A working copy as a gzipped tarball, and a fingerprint that tells whether a command changed it."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
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
    """Extracts into ``directory`` member by member, skipping any member that would land or point outside it: an
    absolute or ``..`` name, a parent that resolves (through what is on disk already) outside, a link whose target
    does, and anything but a file, a directory or a link. With ``keep``, also any member with a component of that
    name in any letter case, whose parent resolves into it, or a link that leads there. Nothing is written through
    a link: a file is created afresh, never opened through whatever an earlier member left at its path."""
    root = os.path.realpath(directory)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            target = _landing(member, root, keep)
            if target is not None:
                _extract(tar, member, target, root, keep)


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


def _landing(member: tarfile.TarInfo, root: str, keep: str | None) -> str | None:
    """Where the member would be written, checked against what is on disk now; None when it is refused."""
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        return None  # a device, a fifo: nothing a working copy holds
    parts = _parts(member.name, keep)
    if not parts:
        return None
    parent = os.path.realpath(os.path.join(root, *parts[:-1]))
    if not _within(parent, root, keep):
        return None
    return os.path.join(parent, parts[-1])


def _parts(name: str, keep: str | None) -> list[str] | None:
    """A member's (or hard link's) name as components, None when absolute, leading up, or naming ``keep``."""
    if not name or name.startswith("/") or "\x00" in name:
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts or (keep is not None and any(part.lower() == keep.lower() for part in parts)):
        return None
    return parts


def _within(path: str, root: str, keep: str | None) -> bool:
    """Whether a resolved ``path`` is ``root`` or below it, and not at or below its top-level ``keep``."""
    if path != root and not path.startswith(root + os.sep):
        return False
    inside = os.path.relpath(path, root).split(os.sep)
    return keep is None or not any(part.lower() == keep.lower() for part in inside)


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: str, root: str, keep: str | None) -> None:
    parent, source = os.path.dirname(target), ""
    if member.issym():
        if member.linkname.startswith("/") or not _within(
            os.path.realpath(os.path.join(parent, member.linkname)), root, keep
        ):
            return
    elif member.islnk():
        parts = _parts(member.linkname, keep)
        source = os.path.realpath(os.path.join(root, *parts)) if parts else ""
        if not parts or not _within(source, root, keep) or not os.path.isfile(source):
            return
    if os.path.lexists(parent) and not os.path.isdir(parent):
        return  # a file or a link where a directory would be
    os.makedirs(parent, 0o755, exist_ok=True)  # the parent resolved inside; what is missing of it is made, as tar does
    if not _make_room(target, directory=member.isdir()):
        return
    if member.isdir():
        if not os.path.isdir(target):
            os.mkdir(target, 0o700)
        os.chmod(target, (member.mode & 0o755) | 0o700)
    elif member.issym():
        os.symlink(member.linkname, target)
    elif member.islnk():
        os.link(source, target, follow_symlinks=False)
    else:
        _write_file(tar, member, target)


def _make_room(target: str, *, directory: bool) -> bool:
    """Clears the path for a later member of the same name (as tar does); False when it cannot be replaced."""
    if not os.path.lexists(target):
        return True
    existing = os.lstat(target).st_mode
    if stat.S_ISDIR(existing):
        return directory  # a directory stays a directory; a file or link over it is refused
    os.unlink(target)  # a file or a link: replaced, never written through
    return True


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, target: str) -> None:
    mode = (member.mode & 0o755) | 0o600
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(descriptor, "wb") as written:
        content = tar.extractfile(member)
        if content is not None:
            shutil.copyfileobj(content, written)
        os.fchmod(written.fileno(), mode)
