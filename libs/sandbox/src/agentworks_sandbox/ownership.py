"""Handing a working copy to the uid a command runs as, and back."""

from __future__ import annotations

import os
import stat
from contextlib import suppress
from pathlib import Path


def hand_over(workdir: Path, uid: int, gid: int, *, keep: str | None = None) -> None:
    """Gives every entry of the working copy to ``uid``, never following a link, and drops set-id bits so that
    nothing the command left behind runs as its new owner; the top-level entry named ``keep`` (and all under it) is
    left as it is."""
    os.lchown(workdir, uid, gid)
    for directory, subdirs, files in os.walk(workdir, followlinks=False):
        if directory == str(workdir) and keep is not None:
            subdirs[:] = [name for name in subdirs if name != keep]
        for name in (*subdirs, *files):
            if name == keep and directory == str(workdir):
                continue
            path = os.path.join(directory, name)
            with suppress(FileNotFoundError):
                os.lchown(path, uid, gid)
                mode = os.lstat(path).st_mode
                if stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_ISGID):
                    os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID))
