"""Git over HTTPS through the gateway with a real ``git`` client and workspace API keys: the gateway, core and
the orchestrator (holding the repositories) each on a socket. Owners and members clone, fetch and push; nothing
is force-pushed; a viewer's own key, or a key whose creator is now a viewer (the role at use time decides), clones
but its push is refused with a message git shows; another workspace's key finds no repository; pushes past the size
limits or with corrupt objects land nothing."""

from __future__ import annotations

import random
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_core.app import create_app as create_core
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS as CORE_MIGRATIONS
from agentworks_gateway.app import create_app as create_gateway
from agentworks_gateway.config import GatewaySettings
from agentworks_gateway.models import MIGRATIONS as GATEWAY_MIGRATIONS
from agentworks_localstack.threads import AppThread, free_port
from agentworks_orchestrator.app import create_app as create_orchestrator
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.models import MIGRATIONS as ORCHESTRATOR_MIGRATIONS
from agentworks_pubsub.testing import RecordingSink
from agentworks_repos import git_env

ORIGIN = "http://localhost:8080"
PASSWORD = "correct horse battery"
GIT = shutil.which("git") or "git"
IDENTITY = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]


@dataclass
class GitFleet:
    gateway: str
    repos: Path
    scratch: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def person(self) -> httpx.Client:
        client = httpx.Client(base_url=self.gateway, headers={"origin": ORIGIN}, timeout=30)
        self.clients.append(client)
        email = f"dev-{uuid.uuid4().hex[:8]}@example.com"
        assert client.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
        client.headers["x-email"] = email
        return client

    def url(self, key: str, project: str) -> str:
        return f"{self.gateway.replace('http://', f'http://x:{key}@')}/git/{project}.git"

    def git(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [GIT, *args], cwd=cwd, env=git_env(), capture_output=True, text=True, timeout=60, check=False
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    def clone(self, key: str, project: str) -> Path:
        work = self.scratch / uuid.uuid4().hex
        self.git("clone", "--quiet", self.url(key, project), str(work))
        return work


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def limits() -> dict[str, int]:
    """Size limits of the fleet (the gateway's ``git_max_body_bytes``, the orchestrator's ``git_max_push_bytes``);
    a test parametrizes it to lower them."""
    return {}


@pytest.fixture
def fleet(
    migrated_database: Callable[[Path], str], tmp_path: Path, dev_key_file: Path, limits: dict[str, int]
) -> Iterator[GitFleet]:
    ports = {name: free_port() for name in ("gateway", "core", "orchestrator")}
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    common: dict[str, Any] = {"environment": "test", "dev_signing_key_file": dev_key_file}
    core = create_core(
        CoreSettings(**common, port=ports["core"], database_url=migrated_database(CORE_MIGRATIONS)),
        sink=RecordingSink(),
    )
    orchestrator = create_orchestrator(
        OrchestratorSettings(
            **common, port=ports["orchestrator"], database_url=migrated_database(ORCHESTRATOR_MIGRATIONS),
            core_url=urls["core_url"], repos_dir=tmp_path / "repos", git_public_url=f"{urls['gateway_url']}/git",
            **{k: v for k, v in limits.items() if k == "git_max_push_bytes"},
        ),
        sink=RecordingSink(),
    )  # fmt: skip
    gateway = create_gateway(
        GatewaySettings(
            **common, port=ports["gateway"], database_url=migrated_database(GATEWAY_MIGRATIONS),
            core_url=urls["core_url"], orchestrator_url=urls["orchestrator_url"],
            **{k: v for k, v in limits.items() if k == "git_max_body_bytes"},
        )
    )  # fmt: skip
    threads = []
    try:
        for app, name in ((core, "core"), (orchestrator, "orchestrator"), (gateway, "gateway")):
            threads.append(AppThread(app, port=ports[name]).start())
        made = GitFleet(urls["gateway_url"], tmp_path / "repos", tmp_path)
        yield made
        for client in made.clients:
            client.close()
    finally:
        for thread in reversed(threads):
            thread.stop()


def test_clone_push_and_fetch_through_the_gateway_with_an_api_key_and_never_a_force_push(fleet: GitFleet) -> None:
    owner = fleet.person()
    workspace = ok(owner.post("/api/workspaces", json={"name": "Acme"}), 201)["id"]
    project = ok(owner.post(f"/api/workspaces/{workspace}/projects", json={"name": "Shop"}), 201)["id"]
    key = ok(owner.post(f"/api/workspaces/{workspace}/api-keys", json={"name": "laptop"}), 201)["key"]
    repository = ok(owner.get(f"/api/projects/{project}/repository"))
    assert repository["clone_url"] == f"{fleet.gateway}/git/{project}.git"

    work = fleet.clone(key, project)
    assert (work / "README.md").is_file()
    (work / "app.py").write_text("print('shop')\n")
    fleet.git("add", "app.py", cwd=work)
    fleet.git(*IDENTITY, "commit", "--quiet", "-m", "Add the app", cwd=work)
    fleet.git("push", "--quiet", "origin", "HEAD:refs/heads/card/app-0000abcd", "HEAD:main", cwd=work)
    assert ok(owner.get(f"/api/projects/{project}/repository/files?path=app.py"))["content"] == "print('shop')\n"

    second = fleet.clone(key, project)  # and a fetch sees what another clone pushed
    (work / "more.py").write_text("x = 1\n")
    fleet.git("add", "more.py", cwd=work)
    fleet.git(*IDENTITY, "commit", "--quiet", "-m", "More", cwd=work)
    fleet.git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    fleet.git("pull", "--quiet", "--ff-only", cwd=second)
    assert (second / "more.py").read_text() == "x = 1\n"

    fleet.git(*IDENTITY, "commit", "--quiet", "--amend", "-m", "Rewritten", cwd=work)
    forced = fleet.git("push", "--force", "origin", "HEAD:main", cwd=work, check=False)
    assert forced.returncode != 0
    assert "non-fast-forward" in forced.stderr
    deleted = fleet.git("push", "origin", ":refs/heads/card/app-0000abcd", cwd=work, check=False)
    assert deleted.returncode != 0
    assert "deletion prohibited" in deleted.stderr


def test_a_viewers_key_clones_but_cannot_push_and_other_workspaces_keys_find_nothing(fleet: GitFleet) -> None:
    owner = fleet.person()
    workspace = ok(owner.post("/api/workspaces", json={"name": "Acme"}), 201)["id"]
    project = ok(owner.post(f"/api/workspaces/{workspace}/projects", json={"name": "Shop"}), 201)["id"]
    # A viewer makes a key of their own: it clones and fetches, never pushes.
    reader = fleet.person()
    asked = ok(owner.post(f"/api/workspaces/{workspace}/members",
                          json={"email": reader.headers["x-email"], "role": "viewer"}), 201)  # fmt: skip
    ok(reader.post("/api/invitations/accept", json={"token": asked["invitation"]["token"]}))
    readers_key = ok(reader.post(f"/api/workspaces/{workspace}/api-keys", json={"name": "read"}), 201)["key"]
    readers_copy = fleet.clone(readers_key, project)
    fleet.git("fetch", "--quiet", cwd=readers_copy)
    # A member makes a key, then is made a viewer: the key acts with its creator's role now.
    colleague = fleet.person()
    invited = ok(owner.post(f"/api/workspaces/{workspace}/members",
                            json={"email": colleague.headers["x-email"], "role": "member"}), 201)  # fmt: skip
    ok(colleague.post("/api/invitations/accept", json={"token": invited["invitation"]["token"]}))
    key = ok(colleague.post(f"/api/workspaces/{workspace}/api-keys", json={"name": "ci"}), 201)["key"]
    ok(owner.patch(f"/api/workspaces/{workspace}/members/{invited['id']}", json={"role": "viewer"}))

    work = fleet.clone(key, project)
    (work / "app.py").write_text("print('shop')\n")
    fleet.git("add", "app.py", cwd=work)
    fleet.git(*IDENTITY, "commit", "--quiet", "-m", "Add the app", cwd=work)
    refused = fleet.git("push", "origin", "HEAD:refs/heads/card/app-0000abcd", cwd=work, check=False)
    assert refused.returncode != 0
    assert "remote: Your role in this workspace (viewer) can clone and fetch but not push." in refused.stderr
    assert "403" in refused.stderr
    readers_push = fleet.git("push", "origin", "HEAD:refs/heads/card/x-0000abcd", cwd=readers_copy, check=False)
    assert readers_push.returncode != 0
    assert "remote: Your role in this workspace (viewer) can clone and fetch but not push." in readers_push.stderr

    elsewhere = fleet.person()
    theirs = ok(elsewhere.post("/api/workspaces", json={"name": "Other"}), 201)["id"]
    their_key = ok(elsewhere.post(f"/api/workspaces/{theirs}/api-keys", json={"name": "ci"}), 201)["key"]
    stranger = fleet.git("clone", fleet.url(their_key, project), str(fleet.scratch / "x"), check=False)
    assert stranger.returncode != 0
    assert "not found" in stranger.stderr
    bad = fleet.git("clone", fleet.url("aw_nope_nope", project), str(fleet.scratch / "y"), check=False)
    assert bad.returncode != 0
    assert "Authentication failed" in bad.stderr or "401" in bad.stderr
    with httpx.Client(base_url=f"{fleet.gateway}/git/{project}.git") as client:
        answer = client.get("/info/refs?service=git-upload-pack")
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Basic ")
        assert client.get("/HEAD", auth=("x", key)).status_code == 404  # only the smart protocol


def _project_and_key(fleet: GitFleet) -> tuple[httpx.Client, str, str]:
    owner = fleet.person()
    workspace = ok(owner.post("/api/workspaces", json={"name": "Acme"}), 201)["id"]
    project = ok(owner.post(f"/api/workspaces/{workspace}/projects", json={"name": "Shop"}), 201)["id"]
    key = ok(owner.post(f"/api/workspaces/{workspace}/api-keys", json={"name": "laptop"}), 201)["key"]
    return owner, project, key


def test_a_push_of_tens_of_megabytes_lands(fleet: GitFleet) -> None:
    _, project, key = _project_and_key(fleet)
    work = fleet.clone(key, project)
    (work / "big.bin").write_bytes(random.Random(7).randbytes(24_000_000))
    fleet.git("add", "big.bin", cwd=work)
    fleet.git(*IDENTITY, "commit", "--quiet", "-m", "Big", cwd=work)
    fleet.git("push", "--quiet", "origin", "HEAD:refs/heads/big", cwd=work)
    pushed = fleet.git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert fleet.git("ls-remote", "origin", "refs/heads/big", cwd=work).stdout.split() == [pushed, "refs/heads/big"]


MIB = 1024 * 1024


def _commit_file(fleet: GitFleet, work: Path, name: str, data: bytes) -> None:
    (work / name).write_bytes(data)
    fleet.git("add", name, cwd=work)
    fleet.git(*IDENTITY, "commit", "--quiet", "-m", f"Add {name}", cwd=work)


@pytest.mark.parametrize("limits", [{"git_max_push_bytes": 2 * MIB, "git_max_body_bytes": 5 * MIB}])
def test_pushes_past_the_size_limits_or_with_corrupt_objects_are_refused_and_land_nothing(fleet: GitFleet) -> None:
    _, project, key = _project_and_key(fleet)
    work = fleet.clone(key, project)
    _commit_file(fleet, work, "small.bin", random.Random(1).randbytes(MIB))
    fleet.git("push", "--quiet", "origin", "HEAD:refs/heads/small", cwd=work)

    # Random bytes: the pack is as large as the file. Past the repository's limit, git refuses the pack as it comes.
    _commit_file(fleet, work, "big.bin", random.Random(2).randbytes(3 * MIB))
    refused = fleet.git("push", "origin", "HEAD:refs/heads/big", cwd=work, check=False)
    assert refused.returncode != 0
    assert "remote: fatal: pack exceeds maximum allowed size" in refused.stderr
    # Past the gateway's limit for a git request, it answers 413 before the orchestrator answers anything.
    _commit_file(fleet, work, "huge.bin", random.Random(3).randbytes(6 * MIB))
    too_large = fleet.git("push", "origin", "HEAD:refs/heads/huge", cwd=work, check=False)
    assert too_large.returncode != 0
    assert "413" in too_large.stderr

    # A tree entry named ".." (written with hash-object --literally, as git itself never would) fails fsck.
    fleet.git("checkout", "--quiet", "small", cwd=work)
    blob = fleet.git("hash-object", "-w", "small.bin", cwd=work).stdout.strip()
    odd = subprocess.run(
        [GIT, "hash-object", "--literally", "-t", "tree", "-w", "--stdin"],
        input=b"100644 ..\x00" + bytes.fromhex(blob), cwd=work, env=git_env(), capture_output=True, check=True,
    ).stdout.decode().strip()  # fmt: skip
    commit = fleet.git(*IDENTITY, "commit-tree", odd, "-p", "HEAD", "-m", "Odd", cwd=work).stdout.strip()
    corrupt = fleet.git("push", "origin", f"{commit}:refs/heads/odd", cwd=work, check=False)
    assert corrupt.returncode != 0
    assert "hasDotdot" in corrupt.stderr

    listed = fleet.git("ls-remote", "--heads", "origin", cwd=work).stdout
    assert [line.split("\t")[1] for line in listed.splitlines()] == ["refs/heads/main", "refs/heads/small"]
