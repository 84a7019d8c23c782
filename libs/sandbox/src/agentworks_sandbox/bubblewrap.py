"""The embedded sandbox: bubblewrap (Debian's ``bubblewrap``) on this machine.

Two ways in, chosen by who runs the fleet:

- as root (containers, CI): bwrap mounts as root without a user namespace, and the command runs as the
  unprivileged uid 65534 with no capabilities (``setpriv``), because the kernel never applies RLIMIT_NPROC to
  root, even root of a user namespace mapped to it. The working copy is handed to that uid for the command and
  handed back to its owner afterwards (see ``_ownership``), all but its ``.git``.
- as any other user: bwrap makes a user namespace (``--unshare-all``) and the command keeps the caller's uid,
  so the files it makes are the caller's; RLIMIT_NPROC then counts the caller's own processes as well.

Either way every other namespace is new (no network but a loopback, own pids, ipc and hostname), the system
is read-only, /etc holds only what programs need to start, /tmp is a private tmpfs with a size cap, the
environment is cleared, and the command's pid namespace dies with bwrap, which dies with us. The working copy's
``.git`` is mounted read-only over its read-write bind: the host runs git there later, and a hook, a
``core.fsmonitor`` or a remote URL written by the command would otherwise run or leak on the host.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from agentworks_sandbox.ownership import hand_over
from agentworks_sandbox.port import (
    COMMAND_ENVIRONMENT,
    GIT_DIR,
    WORKSPACE,
    Command,
    CommandResult,
    SandboxLimits,
    SandboxUnavailable,
    argv_of,
    checked_workdir,
)
from agentworks_sandbox.process import run_limited

SANDBOX_UID = 65534
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SCRATCH = ("/tmp", "/dev/shm")  # noqa: S108 - the sandbox's own tmpfs mounts, not the host's
_ENVIRONMENT = {"PATH": SYSTEM_PATH, "HOME": _SCRATCH[0], **COMMAND_ENVIRONMENT}
_TOP_LEVEL_SYSTEM = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# What dynamic linking, alternatives and time zones need; passwd, group and hosts are written fresh per run.
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "nsswitch.conf")


@dataclass
class _Data:
    """Files handed to bwrap through pipes (``--ro-bind-data``), closed once bwrap has started."""

    fds: list[int] = field(default_factory=list)

    def pipe(self, content: str) -> int:
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "w") as writer:  # a few hundred bytes: within the pipe's buffer
            writer.write(content)
        self.fds.append(read_end)
        return read_end

    def close(self) -> None:
        for fd in self.fds:
            with suppress(OSError):
                os.close(fd)
        self.fds.clear()


class BubblewrapSandbox:
    """Runs commands under bubblewrap; ``available()`` says why not when it cannot."""

    def __init__(self, *, bwrap: str = "bwrap", sandbox_uid: int = SANDBOX_UID) -> None:
        self._sandbox_uid = sandbox_uid
        self._privileged = os.geteuid() == 0
        self._bwrap = shutil.which(bwrap, path=SYSTEM_PATH)
        self._unavailable: str | None = None
        self._checked = False

    def available(self) -> str | None:
        if not self._checked:
            self._unavailable = self._probe()
            self._checked = True
        return self._unavailable

    async def run(self, command: Command, workdir: Path, limits: SandboxLimits | None = None) -> CommandResult:
        reason = await asyncio.to_thread(self.available)  # the first call probes bwrap once
        if reason is not None:
            raise SandboxUnavailable(reason)
        limits = limits or SandboxLimits()
        argv = argv_of(command)
        workdir = checked_workdir(workdir)
        if not self._privileged:
            return await self._execute(argv, workdir, limits)
        owner = workdir.stat()
        # ``.git`` stays its owner's: the command never gets to write the repository's metadata.
        await asyncio.to_thread(hand_over, workdir, self._sandbox_uid, self._sandbox_uid, keep=GIT_DIR)
        try:
            return await self._execute(argv, workdir, limits)
        finally:
            await asyncio.to_thread(hand_over, workdir, owner.st_uid, owner.st_gid, keep=GIT_DIR)

    def _probe(self) -> str | None:
        if self._bwrap is None:
            return "bubblewrap is not installed (Debian package `bubblewrap`)"
        helpers = [shutil.which(name, path=SYSTEM_PATH) for name in ("setpriv", "prlimit")]
        if self._privileged and not all(helpers):
            return "setpriv and prlimit (Debian package `util-linux`) are needed to run commands unprivileged"
        with tempfile.TemporaryDirectory(prefix="aw-sandbox-probe-") as probe:
            data = _Data()
            try:
                args = self._arguments(["/bin/true"], Path(probe), SandboxLimits(), data)
                done = subprocess.run(
                    args,
                    pass_fds=data.fds,
                    env={"PATH": SYSTEM_PATH},
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
            finally:
                data.close()
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
            return f"bubblewrap cannot create a sandbox here (user namespaces denied?): {detail}"
        return None

    async def _execute(self, argv: list[str], workdir: Path, limits: SandboxLimits) -> CommandResult:
        data = _Data()
        try:
            args = self._arguments(argv, workdir, limits, data)
            return await run_limited(args, limits, env={"PATH": SYSTEM_PATH}, pass_fds=data.fds, launcher=True)
        finally:
            data.close()

    def _arguments(self, argv: list[str], workdir: Path, limits: SandboxLimits, data: _Data) -> list[str]:
        assert self._bwrap is not None
        args = [self._bwrap, *self._namespaces(), "--die-with-parent", "--new-session", "--hostname", "sandbox"]
        args += _system_mounts(data, self._sandbox_uid if self._privileged else os.getuid())
        args += ["--proc", "/proc", "--dev", "/dev"]
        for scratch in _SCRATCH:  # tmpfs is memory: capped, and not counted in the address space
            args += ["--size", str(limits.tmp_bytes), "--tmpfs", scratch, "--chmod", "1777", scratch]
        args += ["--bind", str(workdir), WORKSPACE]
        # The host runs git in this directory afterwards: the repository's metadata (config, hooks, refs) is read-only
        # to the command, and its mount point can be neither removed nor renamed from inside.
        if (workdir / GIT_DIR).is_dir() and not (workdir / GIT_DIR).is_symlink():
            args += ["--ro-bind", str(workdir / GIT_DIR), f"{WORKSPACE}/{GIT_DIR}"]
        args += ["--chdir", WORKSPACE, "--remount-ro", "/"]
        args.append("--clearenv")
        for name, value in _ENVIRONMENT.items():
            args += ["--setenv", name, value]
        args += ["--", *_rlimits(limits)]
        if self._privileged:
            uid = str(self._sandbox_uid)
            args += ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "--inh-caps=-all"]
            args += ["--bounding-set=-all", "--no-new-privs", "--"]
        return [*args, *argv]

    def _namespaces(self) -> list[str]:
        if self._privileged:
            # No user namespace: one mapping only root would leave the command no uid to drop to.
            return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        return ["--unshare-all", "--unshare-user", "--disable-userns"]


def _system_mounts(data: _Data, uid: int) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
    for name in _TOP_LEVEL_SYSTEM:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    for name in _ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    passwd = f"root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:{uid}:{uid}:sandbox:/tmp:/bin/sh\n"
    group = f"root:x:0:\nsandbox:x:{uid}:\n"
    hosts = "127.0.0.1 localhost\n::1 localhost\n"
    for path, content in (("/etc/passwd", passwd), ("/etc/group", group), ("/etc/hosts", hosts)):
        args += ["--perms", "0644", "--ro-bind-data", str(data.pipe(content)), path]
    return args


def _rlimits(limits: SandboxLimits) -> list[str]:
    return [
        "prlimit",
        f"--nproc={limits.processes}",
        f"--as={limits.memory_bytes}",
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",  # SIGXCPU, which says why, before SIGKILL
        f"--fsize={limits.file_size_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]
