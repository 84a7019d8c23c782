"""What a person's push through ``git http-backend`` may land on the embedded host: every object is checked (fsck)
and a pack over the host's size limit is refused while it arrives; a push within both lands."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agentworks_orchestrator.code.git_http import GitRequest, http_backend
from agentworks_repos import LocalRepositoryHost, git_text, run_git

IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")
ZERO = "0" * 40


def _pkt(line: str) -> bytes:
    data = line.encode()
    return f"{len(data) + 4:04x}".encode() + data


async def _push_body(work: Path, old: str, new: str, ref: str) -> bytes:
    """The request a git client sends to create ``ref`` at ``new``: the command, then the pack of what is new."""
    pack = await run_git("pack-objects", "--stdout", "--revs", "--quiet", cwd=work, stdin=f"{new}\n^{old}\n".encode())
    return _pkt(f"{ZERO} {new} {ref}\x00report-status side-band-64k\n") + b"0000" + pack.stdout


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 65536):
        yield body[start : start + 65536]


async def _serve_push(host: LocalRepositoryHost, repository: Path, body: bytes) -> str:
    request = GitRequest(
        method="POST", path="git-receive-pack", query="", content_type="application/x-git-receive-pack-request",
        content_encoding="", git_protocol="", remote_user="dev@example.com", remote_addr="127.0.0.1",
    )  # fmt: skip
    answer = await http_backend(repository, request, _chunks(body), host.receive_env())
    assert answer.status == 200
    return b"".join([chunk async for chunk in answer.body]).decode(errors="replace")


async def _commit(work: Path, name: str, data: bytes) -> str:
    (work / name).write_bytes(data)
    await run_git("add", name, cwd=work)
    await run_git(*IDENTITY, "commit", "--quiet", "-m", f"Add {name}", cwd=work)
    return await git_text("rev-parse", "HEAD", cwd=work)


@pytest.fixture
async def setup(tmp_path: Path) -> tuple[LocalRepositoryHost, Path, Path]:
    host = LocalRepositoryHost(tmp_path / "repos", max_push_bytes=1_000_000)
    repository = Path((await host.ensure(uuid.uuid4())).url)
    # The repository as an older release made it: no receive rules of its own, so only the served ones apply.
    for key in ("receive.fsckObjects", "receive.denyDeletes"):
        await run_git("config", "--unset", key, cwd=repository, check=False)
    work = tmp_path / "work"
    await run_git("clone", "--quiet", str(repository), str(work))
    return host, repository, work


async def test_a_push_within_the_limits_lands(setup: tuple[LocalRepositoryHost, Path, Path]) -> None:
    host, repository, work = setup
    main = await git_text("rev-parse", "HEAD", cwd=work)
    new = await _commit(work, "app.bin", random.Random(1).randbytes(400_000))
    answer = await _serve_push(host, repository, await _push_body(work, main, new, "refs/heads/card/a-00000001"))
    assert "ok refs/heads/card/a-00000001" in answer
    assert await git_text("rev-parse", "refs/heads/card/a-00000001", cwd=repository) == new


async def test_a_pack_over_the_size_limit_is_refused_and_lands_nothing(
    setup: tuple[LocalRepositoryHost, Path, Path],
) -> None:
    host, repository, work = setup
    main = await git_text("rev-parse", "HEAD", cwd=work)
    new = await _commit(work, "big.bin", random.Random(2).randbytes(1_500_000))  # random: the pack cannot shrink it
    answer = await _serve_push(host, repository, await _push_body(work, main, new, "refs/heads/big"))
    assert "pack exceeds maximum allowed size" in answer
    assert "ok refs/heads/big" not in answer
    listed = await run_git("rev-parse", "--verify", "--quiet", "refs/heads/big", cwd=repository, check=False)
    assert listed.exit_code != 0
    assert (await run_git("cat-file", "-e", new, cwd=repository, check=False)).exit_code != 0


@pytest.mark.parametrize(("entry", "why"), [(b"100644 ..", "hasDotdot"), (b"100644 .git", "hasDotgit")])
async def test_a_corrupt_tree_is_refused_by_fsck_and_lands_nothing(
    setup: tuple[LocalRepositoryHost, Path, Path], entry: bytes, why: str
) -> None:
    host, repository, work = setup
    main = await git_text("rev-parse", "HEAD", cwd=work)
    blob = await git_text("hash-object", "-w", "--stdin", cwd=work)
    raw = entry + b"\x00" + bytes.fromhex(blob)
    tree = (await run_git("hash-object", "--literally", "-t", "tree", "-w", "--stdin", cwd=work, stdin=raw)).text
    new = await git_text(*IDENTITY, "commit-tree", tree.strip(), "-p", main, "-m", "Odd", cwd=work)
    answer = await _serve_push(host, repository, await _push_body(work, main, new, "refs/heads/odd"))
    assert why in answer
    assert "ok refs/heads/odd" not in answer
    listed = await run_git("rev-parse", "--verify", "--quiet", "refs/heads/odd", cwd=repository, check=False)
    assert listed.exit_code != 0
