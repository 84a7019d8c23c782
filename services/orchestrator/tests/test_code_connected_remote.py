"""A project connected to a git remote of its own: the remote (a forge, stood in by ``git http-backend`` behind
HTTP Basic or Bearer auth that refuses anyone without the token) is checked with its token before it is kept, the
token goes to the secrets port and is never answered or logged, agents push their card branches there, merges land
there, and disconnecting returns the project to the platform's repository. Owners only; other workspaces see
nothing."""

from __future__ import annotations

import asyncio
import base64
import logging
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_events import run_id_for
from agentworks_localstack.threads import AppThread
from agentworks_orchestrator.code import remotes
from agentworks_orchestrator.state import OrchestratorState
from agentworks_platform.app import state_of
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_repos import git_env, git_text, run_git
from agentworks_repos.embedded import initialise_bare
from fastapi import FastAPI, Request, Response

from .conftest import ORCHESTRATOR_URL, Turn
from .git_server import GIT, served_by_http_backend
from .test_code import Code

TOKEN = "forge-token-5ecret"
USER = "x-access-token"
SMART = ("info/refs", "git-upload-pack", "git-receive-pack")


class Forge:
    """Bare repositories under ``root`` served by ``git http-backend`` to holders of ``TOKEN`` only (HTTP Basic
    with any user name, or Bearer), as a hosted forge serves them; anyone else gets 401 and a Basic challenge.
    ``/moved/...`` answers a redirect to the same repository, which a client must not follow."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = ""
        self.authorizations: list[str] = []
        self.app = FastAPI()
        self.app.add_api_route("/moved/{path:path}", self.moved, methods=["GET", "POST"])
        self.app.add_api_route("/{owner}/{name}/{path:path}", self.serve, methods=["GET", "POST"])

    def repository(self, name: str, *, empty: bool = False) -> str:
        bare = self.root / "team" / name
        subprocess.run(
            [GIT, "init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True, env=git_env()
        )
        if not empty:
            asyncio.run(initialise_bare(bare))
        return f"{self.url}/team/{name}"

    def path(self, name: str) -> Path:
        return self.root / "team" / name

    async def moved(self, path: str) -> Response:
        return Response(status_code=301, headers={"location": f"{self.url}/team/{path}"})

    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme == "Bearer":
            return value == TOKEN
        if scheme == "Basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            return bool(user) and password == TOKEN
        return False

    async def serve(self, owner: str, name: str, path: str, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        self.authorizations.append(header)
        if not self._authorized(header):
            return Response(
                "Authentication required\n", status_code=401, headers={"www-authenticate": 'Basic realm="forge"'}
            )
        if path not in SMART or not (self.root / owner / name / "HEAD").is_file():
            return Response("Not found\n", status_code=404)
        return await served_by_http_backend(self.root, f"/{owner}/{name}/{path}", request, "agentworks")


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[Forge]:
    served = Forge(tmp_path / "forge")
    thread = AppThread(served.app).start()
    served.url = thread.url
    yield served
    thread.stop()


class Connected(Code):
    """The orchestrator (loopback remotes allowed, as in development) with JSON calls as any principal."""

    async def send(
        self, method: str, path: str, body: Any = None, principal: Principal | None = None
    ) -> httpx.Response:
        token = LocalTokenSigner(self.o.key, dev_service_account("gateway")).sign(ORCHESTRATOR_URL)
        headers = {"authorization": f"Bearer {token}", **(principal or self.o.owner).headers()}
        async with self.o.client() as client:
            return await client.request(method, path, headers=headers, json=body)

    @property
    def state(self) -> OrchestratorState:
        return state_of(self.o.app.state.ctx, OrchestratorState)

    def remote_path(self) -> str:
        return f"/api/projects/{self.o.project}/repository/remote"


@pytest.fixture
async def connected(make_orchestrator: Callable[..., Any], tmp_path: Path) -> AsyncIterator[Connected]:
    async with AsyncExitStack() as exits:
        orchestrator = await make_orchestrator(
            exits, repos_dir=tmp_path / "repos", remote_allow_loopback=True, tool_roles=frozenset({"dev_backend"})
        )
        del orchestrator.agents["dev_frontend"]
        yield Connected(orchestrator, tmp_path)


def refused(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_an_agents_card_branch_and_the_merge_land_on_the_connected_remote(
    connected: Connected, forge: Forge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = await asyncio.to_thread(forge.repository, "shop.git")
    answer = await connected.send("PUT", connected.remote_path(), {"url": url, "token": TOKEN})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["url"], answer.json()["connected_by"]) == (url, str(connected.o.owner.user_id))
    shown = await connected.get(f"/api/projects/{connected.o.project}/repository")
    assert (shown["remote_kind"], shown["clone_url"], shown["remote"]["url"]) == ("connected", url, url)
    assert shown["head_sha"] == await git_text("rev-parse", "main", cwd=forge.path("shop.git"))
    # The token is a secret of the secrets port, not a column, and no answer carries it.
    secret = await connected.state.code.secrets.get(f"project-git-token-{connected.o.project}")
    assert secret == TOKEN
    listed = await connected.send("GET", f"/api/projects/{connected.o.project}/repository")
    assert TOKEN not in answer.text
    assert TOKEN not in listed.text
    assert listed.json()["remote_kind"] == "connected"

    # A developer's run on the card clones from the forge and pushes its card branch there.
    connected.o.model.script = [
        Turn("Writing.", (("write_file", {"path": "cart.py", "content": "TOTAL = 1\n"}),)),
        Turn("Committing.", (("commit", {"message": "Add the cart"}),)),
        Turn("Done."),
    ]
    moved = connected.o.moved(to_lane=5)
    assert (await connected.o.push(moved)).status_code == 204
    [completed] = connected.o.events("agent.run.completed")
    assert completed.run_id == run_id_for(moved.id, "dev_backend")
    on_forge = forge.path("shop.git")
    branch = await git_text("for-each-ref", "--format=%(refname:short)", "refs/heads/card/", cwd=on_forge)
    assert branch.startswith("card/checkout-")
    assert await git_text("show", f"{branch}:cart.py", cwd=on_forge) == "TOTAL = 1"
    assert not (connected.state.repos.path_of(connected.o.project) / "refs/heads" / branch).exists()  # type: ignore[attr-defined]

    # The Code tab reads the forge's branch, and the merge lands on the forge's main (no force).
    code = await connected.get(f"/api/cards/{connected.o.card}/code")
    assert (code["exists"], code["mergeable"], [f["path"] for f in code["files"]]) == (True, True, ["cart.py"])
    merged = await connected.call("POST", f"/api/cards/{connected.o.card}/code/merge")
    assert merged.status_code == 200, merged.text
    assert await git_text("rev-parse", "main", cwd=on_forge) == merged.json()["merged_sha"]
    assert await git_text("show", "main:cart.py", cwd=on_forge) == "TOTAL = 1"

    # Every request the forge saw carried the token; no log line did.
    assert forge.authorizations
    assert all(a.startswith("Basic ") for a in forge.authorizations)
    encoded = base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    assert all(TOKEN not in record.getMessage() and encoded not in record.getMessage() for record in caplog.records)
    assert TOKEN not in caplog.text
    assert encoded not in caplog.text


async def test_people_git_is_pointed_at_the_remote_and_disconnecting_returns_to_the_platform(
    connected: Connected, forge: Forge
) -> None:
    url = await asyncio.to_thread(forge.repository, "app.git")
    assert (await connected.send("PUT", connected.remote_path(), {"url": url, "token": TOKEN})).status_code == 200
    answer = await connected.call("GET", f"/git/{connected.o.project}/info/refs?service=git-upload-pack")
    assert (answer.status_code, answer.headers["content-type"]) == (404, "text/plain; charset=utf-8")
    assert url in answer.text
    assert TOKEN not in answer.text

    gone = await connected.send("DELETE", connected.remote_path())
    assert gone.status_code == 204
    assert await connected.state.code.secrets.get(f"project-git-token-{connected.o.project}") is None
    shown = await connected.get(f"/api/projects/{connected.o.project}/repository")
    assert (shown["remote_kind"], shown["remote"]) == ("hosted", None)
    assert shown["clone_url"].endswith(f"/git/{connected.o.project}.git")
    assert (
        await connected.call("GET", f"/git/{connected.o.project}/info/refs?service=git-upload-pack")
    ).status_code == 200
    assert (forge.path("app.git") / "HEAD").is_file()  # the remote keeps its data
    assert (await connected.send("DELETE", connected.remote_path())).status_code == 204  # already disconnected


async def test_an_empty_remote_is_given_main_and_basic_with_another_user_name_works(
    connected: Connected, forge: Forge
) -> None:
    # By name: git connects to the address the name resolved to when it was checked (http.curloptResolve).
    url = (await asyncio.to_thread(forge.repository, "fresh.git", empty=True)).replace("127.0.0.1", "localhost")
    answer = await connected.send("PUT", connected.remote_path(), {"url": url, "token": TOKEN, "username": "oauth2"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["username"] == "oauth2"
    readme = await git_text("show", "main:README.md", cwd=forge.path("fresh.git"))
    assert readme.startswith("# Project repository")


async def test_a_bad_token_an_unreachable_or_redirecting_remote_and_one_without_main_are_refused(
    connected: Connected, forge: Forge
) -> None:
    url = await asyncio.to_thread(forge.repository, "shop.git")
    bad = await connected.send("PUT", connected.remote_path(), {"url": url, "token": "wrong-token"})
    assert refused(bad) == (422, "remote_auth_failed")
    assert "may read and push" in bad.json()["error"]["message"]
    assert "wrong-token" not in bad.text
    missing = await connected.send(
        "PUT", connected.remote_path(), {"url": f"{forge.url}/team/none.git", "token": TOKEN}
    )
    assert refused(missing) == (422, "remote_unreachable")
    redirect = await connected.send(
        "PUT", connected.remote_path(), {"url": f"{forge.url}/moved/shop.git", "token": TOKEN}
    )
    assert refused(redirect) == (422, "remote_unreachable")
    await run_git("branch", "-m", "main", "trunk", cwd=forge.path("shop.git"))
    trunk = await connected.send("PUT", connected.remote_path(), {"url": url, "token": TOKEN})
    assert refused(trunk) == (422, "remote_default_branch_missing")
    # Nothing was kept by a refused connection.
    assert await connected.state.code.secrets.get(f"project-git-token-{connected.o.project}") is None
    assert (await connected.get(f"/api/projects/{connected.o.project}/repository"))["remote_kind"] == "hosted"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"url": "http://example.com/team/shop.git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "ftp://example.com/shop.git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "file:///etc/shop.git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "ssh://git@example.com/shop.git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "https://user:pw@example.com/shop.git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "https://tok@example.com/shop.git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "https://example.com/shop.git?x=1", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "https://example.com/shop .git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "https:///shop.git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "https://example.com/a=b/shop.git", "token": TOKEN}, 400, "invalid_remote_url"),
        ({"url": "https://example.com/shop.git", "token": "two words"}, 400, "invalid_token"),
        ({"url": "https://example.com/shop.git", "token": "line\nX-Injected: 1"}, 400, "invalid_token"),
        ({"url": "https://example.com/shop.git"}, 422, "invalid_request"),
        ({"url": "https://example.com/shop.git", "token": TOKEN, "username": "a:b"}, 422, "invalid_request"),
        ({"url": "https://example.com/shop.git", "token": TOKEN, "extra": 1}, 422, "invalid_request"),
        ({"url": "https://127.0.0.1/shop.git", "token": TOKEN}, 422, "remote_address_refused"),
        ({"url": "https://169.254.169.254/computeMetadata/v1/", "token": TOKEN}, 422, "remote_address_refused"),
    ],
)
async def test_bad_input_is_refused_clearly_without_echoing_the_token(
    connected: Connected, body: dict[str, Any], status: int, code: str
) -> None:
    connected.state.code.settings = connected.state.code.settings.model_copy(update={"remote_allow_loopback": False})
    answer = await connected.send("PUT", connected.remote_path(), body)
    assert refused(answer) == (status, code), answer.text
    assert TOKEN not in answer.text
    assert "two words" not in answer.text


async def test_only_owners_connect_and_disconnect_and_other_workspaces_see_nothing(
    connected: Connected, forge: Forge
) -> None:
    url = await asyncio.to_thread(forge.repository, "shop.git")
    body = {"url": url, "token": TOKEN}
    viewer, member = connected.person("viewer"), connected.person("member")
    stranger = connected.person("owner", connected.o.directory.tenancy(uuid.uuid4()).workspace)
    key_elsewhere = Principal(connected.o.owner.user_id, connected.o.owner.email, uuid.uuid4(), "r", "")
    for method, payload in (("PUT", body), ("DELETE", None)):
        for person in (viewer, member):
            assert refused(await connected.send(method, connected.remote_path(), payload, person)) == (403, "forbidden")
        for person in (stranger, key_elsewhere):
            assert refused(await connected.send(method, connected.remote_path(), payload, person)) == (404, "not_found")
        nobody = f"/api/projects/{uuid.uuid4()}/repository/remote"
        assert refused(await connected.send(method, nobody, payload)) == (404, "not_found")
    assert (await connected.get(f"/api/projects/{connected.o.project}/repository"))["remote_kind"] == "hosted"
    assert (await connected.send("PUT", connected.remote_path(), body)).status_code == 200
    # Everyone who may read the project sees where its repository lives, never the token.
    for person in (viewer, member):
        seen = await connected.send("GET", f"/api/projects/{connected.o.project}/repository", None, person)
        assert (seen.status_code, seen.json()["remote"]["url"]) == (200, url)
        assert TOKEN not in seen.text
    assert (
        await connected.send("GET", f"/api/projects/{connected.o.project}/repository", None, stranger)
    ).status_code == 404


SPELLINGS = [
    "https://127.0.0.1/x.git",
    "https://127.1/x.git",
    "https://2130706433/x.git",  # decimal
    "https://0x7f000001/x.git",  # hex
    "https://0177.0.0.1/x.git",  # octal
    "https://localhost/x.git",
    "https://[::1]/x.git",
    "https://[::ffff:127.0.0.1]/x.git",  # IPv4-mapped
    "https://[::ffff:7f00:1]/x.git",
    "https://[::127.0.0.1]/x.git",  # IPv4-compatible
    "https://[64:ff9b::7f00:1]/x.git",  # NAT64
    "https://[2002:7f00:1::]/x.git",  # 6to4
    "https://169.254.169.254/x.git",  # the metadata server
    "https://2852039166/x.git",  # the metadata server, decimal
    "https://[::ffff:169.254.169.254]/x.git",
    "https://[fe80::1]/x.git",
    "https://10.0.0.1/x.git",
    "https://172.16.0.1/x.git",
    "https://192.168.1.1/x.git",
    "https://100.64.0.1/x.git",  # shared address space
    "https://0.0.0.0/x.git",
    "https://0/x.git",
    "https://[::]/x.git",
    "https://224.0.0.1/x.git",
    "https://[ff02::1]/x.git",
    "https://240.0.0.1/x.git",  # reserved
]


@pytest.mark.parametrize("url", SPELLINGS)
async def test_every_spelling_of_a_non_public_address_is_refused(url: str) -> None:
    with pytest.raises(remotes.RemoteRefusedError) as caught:
        await remotes.resolved(url, allow_loopback=False)
    assert caught.value.code == "remote_address_refused", caught.value.message


async def test_loopback_allowed_in_development_still_refuses_everything_else() -> None:
    assert (await remotes.resolved("http://127.0.0.1:9/x.git", allow_loopback=True)).addresses == ("127.0.0.1",)
    for url in ("https://169.254.169.254/x.git", "https://0.0.0.0/x.git", "https://10.1.2.3/x.git"):
        with pytest.raises(remotes.RemoteRefusedError):
            await remotes.resolved(url, allow_loopback=True)
    with pytest.raises(remotes.RemoteRefusedError) as caught:
        await remotes.resolved("http://93.184.216.34/x.git", allow_loopback=True)  # http only on loopback
    assert caught.value.code == "invalid_remote_url"


def test_git_reaches_only_the_checked_addresses_with_no_redirect_or_helper() -> None:
    target = remotes.RemoteTarget(
        "https://forge.example/team/x.git", "forge.example", 443, ("2001:db8::1", "203.0.113.5"), False
    )
    remote = remotes.git_remote(target, USER, TOKEN, 30.0)
    config = dict(remote.config)
    assert config["http.followRedirects"] == "false"
    assert config["http.curloptResolve"] == "forge.example:443:[2001:db8::1],203.0.113.5"
    assert config["credential.helper"] == ""
    assert (remote.protocols, remote.timeout_seconds) == ("https", 30.0)
    assert TOKEN not in repr(remote)
    literal = remotes.RemoteTarget("https://203.0.113.5/x.git", "203.0.113.5", 443, ("203.0.113.5",), False)
    assert "http.curloptResolve" not in dict(remotes.git_remote(literal, USER, TOKEN, 30.0).config)
