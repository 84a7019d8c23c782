"""The code of a project and its cards through the orchestrator's API: the repository made on first use, files,
zip downloads, a card's branch against main, and merges (clean, conflicting, held at a gate), with core's
access answers stood in."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_events import ProjectDeleted
from agentworks_orchestrator.code import git_view
from agentworks_orchestrator.code import service as code_service
from agentworks_orchestrator.code.branches import branch_for
from agentworks_orchestrator.models import CardBranch, CommandRunRow, ProjectRemote, Run
from agentworks_orchestrator.state import OrchestratorState
from agentworks_platform.app import state_of
from agentworks_platform.clock import utc_now
from agentworks_platform.peer_stub import Answer, Call
from agentworks_platform.principal import Principal
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_repos import git_text, run_git
from sqlalchemy import func, select

from .conftest import ORCHESTRATOR_URL, Orchestrator

GATE = "/internal/cards/{card_id}/gate"
IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")


class Code:
    """The orchestrator with its repositories under a temporary directory and core's card gate answered."""

    def __init__(self, orchestrator: Orchestrator, scratch: Path) -> None:
        self.o = orchestrator
        self.scratch = scratch
        self.pending: set[str] = set()
        self.titles: dict[str, str] = {}
        orchestrator.core.on("GET", GATE, self._gate)

    def _gate(self, call: Call) -> Answer:
        card = call.path_params["card_id"]
        owner = self.o.directory.owners.get(("card", card))
        if owner is None:
            return Answer.refusal(404, "not_found", f"No card with id {card}.")
        return Answer(200, {
            **owner, "card_id": card, "human_id": "SHOP-7", "title": self.titles.get(card, "Checkout"),
            "lane_number": 5, "lane_name": "Build", "requires_approval": True, "approval_pending": card in self.pending,
        })  # fmt: skip

    async def call(self, method: str, path: str, principal: Principal | None = None) -> httpx.Response:
        token = LocalTokenSigner(self.o.key, dev_service_account("gateway")).sign(ORCHESTRATOR_URL)
        headers = {"authorization": f"Bearer {token}", **(principal or self.o.owner).headers()}
        async with self.o.client() as client:
            return await client.request(method, path, headers=headers)

    async def get(self, path: str, principal: Principal | None = None) -> Any:
        response = await self.call("GET", path, principal)
        assert response.status_code == 200, response.text
        return response.json()

    def person(self, role: str, workspace: uuid.UUID | None = None) -> Principal:
        user = uuid.uuid4()
        self.o.directory.join(workspace or self.o.workspace, user, role)
        return Principal(user, f"{role}-{user.hex[:6]}@example.com", None, "r", "")

    async def clone(self) -> Path:
        """A working copy of the project's repository (made by the first look at it)."""
        url = (await self.get(f"/api/projects/{self.o.project}/repository"))["clone_url"]
        assert url.endswith(f"/git/{self.o.project}.git")
        state = state_of(self.o.app.state.ctx, OrchestratorState)
        work = self.scratch / uuid.uuid4().hex
        await run_git("clone", "--quiet", (await state.repos.remote(self.o.project)).url, str(work))
        return work


async def commit(work: Path, files: dict[str, str], message: str, push_to: str | None = None) -> str:
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    await run_git("add", "-A", cwd=work)
    await run_git(*IDENTITY, "commit", "--quiet", "-m", message, cwd=work)
    if push_to:
        await run_git("push", "--quiet", "origin", f"HEAD:refs/heads/{push_to}", cwd=work)
    return await git_text("rev-parse", "HEAD", cwd=work)


@pytest.fixture
async def code(make_orchestrator: Callable[..., Any], tmp_path: Path) -> AsyncIterator[Code]:
    async with AsyncExitStack() as exits:
        orchestrator = await make_orchestrator(exits, repos_dir=tmp_path / "repos")
        yield Code(orchestrator, tmp_path)


async def test_the_repository_is_made_on_first_look_with_main_and_its_readme(code: Code) -> None:
    project = code.o.project
    repository = await code.get(f"/api/projects/{project}/repository")
    assert repository["default_branch"] == "main"
    assert repository["remote_kind"] == "hosted"
    assert repository["clone_url"] == f"http://localhost:8080/git/{project}.git"
    [main] = repository["branches"]
    assert main == {"name": "main", "sha": repository["head_sha"], "card_id": None, "ahead": 0, "behind": 0}
    assert (await code.get(f"/api/projects/{project}/repository"))["head_sha"] == repository["head_sha"]


async def test_files_list_a_directory_and_read_a_file_of_any_ref(code: Code) -> None:
    project, work = code.o.project, await code.clone()
    await commit(work, {"src/app.py": "print('hi')\n", "src/data.bin": "\x00\x01"}, "Add app", push_to="card/x-1")
    root = await code.get(f"/api/projects/{project}/repository/files")
    assert [(e["name"], e["type"]) for e in root["entries"]] == [("README.md", "file")]
    src = await code.get(f"/api/projects/{project}/repository/files?ref=card/x-1&path=src/")
    assert src["kind"] == "dir"
    assert [(e["path"], e["type"], e["size"]) for e in src["entries"]] == [
        ("src/app.py", "file", 12), ("src/data.bin", "file", 2),
    ]  # fmt: skip
    app = await code.get(f"/api/projects/{project}/repository/files?ref=card/x-1&path=src/app.py")
    assert (app["kind"], app["content"], app["binary"], app["truncated"]) == ("file", "print('hi')\n", False, False)
    data = await code.get(f"/api/projects/{project}/repository/files?ref=card/x-1&path=src/data.bin")
    assert (data["content"], data["binary"]) == (None, True)


BAD_QUERIES = (
    ("ref=nope", 404, "not_found"),
    ("ref=refs/heads/nope", 404, "not_found"),
    ("ref=0123456789abcdef0123456789abcdef01234567", 404, "not_found"),
    ("ref=%E6%97%A5%E6%9C%AC", 404, "not_found"),  # well formed (git allows UTF-8), but no such branch
    (f"ref={'a' * 255}", 404, "not_found"),
    (f"ref={'a' * 256}", 400, "invalid_ref"),
    (f"ref={'a/' * 5000}a", 400, "invalid_ref"),
    ("ref=--upload-pack=touch", 400, "invalid_ref"),
    ("ref=-o", 400, "invalid_ref"),
    ("ref=--output=/tmp/x", 400, "invalid_ref"),
    ("ref=refs/heads/../x", 400, "invalid_ref"),
    ("ref=main..card/x", 400, "invalid_ref"),
    ("ref=main@{1}", 400, "invalid_ref"),
    ("ref=@", 400, "invalid_ref"),
    ("ref=main~1", 400, "invalid_ref"),
    ("ref=main^", 400, "invalid_ref"),
    ("ref=main:README.md", 400, "invalid_ref"),
    ("ref=ma%01in", 400, "invalid_ref"),
    ("ref=ma%7Fin", 400, "invalid_ref"),
    ("ref=main%0A", 400, "invalid_ref"),
    ("ref=a%20b", 400, "invalid_ref"),
    ("ref=a*", 400, "invalid_ref"),
    ("ref=a%5Bb", 400, "invalid_ref"),
    ("ref=a%5Cb", 400, "invalid_ref"),
    ("ref=card/x.lock", 400, "invalid_ref"),
    ("ref=card/.hidden", 400, "invalid_ref"),
    ("ref=card//x", 400, "invalid_ref"),
    ("ref=/main", 400, "invalid_ref"),
    ("ref=main/", 400, "invalid_ref"),
    ("ref=main.", 400, "invalid_ref"),
    ("ref=", 400, "invalid_ref"),
    ("ref=ma%00in", 422, "invalid_request"),  # the app-wide rule: no NUL in any text
    ("path=../../etc/passwd", 400, "invalid_path"),
    ("path=missing.txt", 404, "not_found"),
)
"""Real attack spellings of a ref and a path, with the status and error code each answers."""


@pytest.mark.parametrize("route", ["files", "archive.zip"])
async def test_bad_refs_and_paths_answer_clear_errors(code: Code, route: str, tmp_path: Path) -> None:
    written = tmp_path / "written-by-git"
    for query, status, code_name in (*BAD_QUERIES, (f"ref=--output={written}", 400, "invalid_ref")):
        if route == "archive.zip" and query.startswith("path="):
            continue  # a zip takes no path
        response = await code.call("GET", f"/api/projects/{code.o.project}/repository/{route}?{query}")
        assert (response.status_code, response.json()["error"]["code"]) == (status, code_name), query
    # No ref ever reached git as an option (git archive --output=... would have written the file).
    assert not await asyncio.to_thread(written.exists)


@pytest.mark.parametrize(
    "ref",
    [
        "main",
        "card/x-1",
        "v1.0",
        "a-b_c",
        "日本",
        "a@b",
        "a{b}",
        'a"b',
        "x.lock",
        "x.lock/y",
        "a..b",
        "a/./b",
        "a/.b",
        "a//b",
        "/a",
        "a/",
        "a.",
        ".a",
        "@",
        "a@{b",
        "a~b",
        "a^b",
        "a:b",
        "a?b",
        "a*b",
        "a[b",
        "a\\b",
        "a b",
        "a\tb",
        "a\x7fb",
        "a\x01b",
        "refs/heads/main",
        "refs/heads/../x",
        "HEAD",
        "@{-1}",
        "a.lock.b",
    ],
)
async def test_refs_are_judged_as_git_check_ref_format_judges_them(ref: str) -> None:
    judged = await run_git("check-ref-format", "--allow-onelevel", ref, check=False)
    assert git_view.valid_ref(ref) == (judged.exit_code == 0)


async def test_a_zip_of_a_ref_holds_its_files(code: Code) -> None:
    work = await code.clone()
    await commit(work, {"src/app.py": "print('hi')\n"}, "Add app", push_to="card/zip-1")
    response = await code.call("GET", f"/api/projects/{code.o.project}/repository/archive.zip?ref=card/zip-1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert f'filename="{code.o.project}-card-zip-1.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["README.md", "src/", "src/app.py"]
        assert archive.read("src/app.py") == b"print('hi')\n"


async def test_a_zip_git_cannot_make_is_an_error_never_an_empty_answer(code: Code) -> None:
    work = await code.clone()
    await commit(work, {"src/app.py": "print('hi')\n"}, "Add app", push_to="card/zip-2")
    state = state_of(code.o.app.state.ctx, OrchestratorState)
    hosted = Path((await state.repos.remote(code.o.project)).url)
    blob = await git_text("rev-parse", "card/zip-2:src/app.py", cwd=hosted)
    (hosted / "objects" / blob[:2] / blob[2:]).unlink()  # the repository lost an object git archive needs
    response = await code.call("GET", f"/api/projects/{code.o.project}/repository/archive.zip?ref=card/zip-2")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "archive_failed"
    assert "could not be made" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "service=git-upload-pack&service=git-receive-pack",
        "service=git-receive-pack&service=git-upload-pack",
        "%73ervice=git-receive-pack&service=git-upload-pack",  # git http-backend decodes the name too
    ],
)
async def test_a_git_request_naming_its_service_twice_is_refused(code: Code, query: str) -> None:
    await code.clone()  # the repository exists
    viewer = code.person("viewer")
    refused = await code.call("GET", f"/git/{code.o.project}/info/refs?{query}", viewer)
    assert (refused.status_code, refused.text) == (
        400,
        "A git request names its service once (one service= parameter).\n",
    )
    fetched = await code.call("GET", f"/git/{code.o.project}/info/refs?service=git-upload-pack", viewer)
    assert fetched.status_code == 200, fetched.text


async def test_the_agents_of_a_lane_starting_on_a_card_at_once_all_get_its_branch(code: Code) -> None:
    """Each pushes the new branch; the repository refuses all but the first push, and the others use that branch."""
    card, project = code.o.card, code.o.project
    state = state_of(code.o.app.state.ctx, OrchestratorState)
    opened = await asyncio.gather(
        *(code_service.card_branch(state.code, code.o.workspace, project, card, "Checkout") for _ in range(6))
    )
    assert set(opened) == {branch_for(card, "Checkout")}
    assert (await code.get(f"/api/cards/{card}/code"))["exists"] is True


async def test_a_cards_code_shows_its_commits_files_and_diff_then_merges(code: Code) -> None:
    card, project = code.o.card, code.o.project
    empty = await code.get(f"/api/cards/{card}/code")
    assert (empty["exists"], empty["commits"], empty["mergeable"]) == (False, [], False)
    assert empty["branch"] == branch_for(card, "Checkout")

    state = state_of(code.o.app.state.ctx, OrchestratorState)
    branch = await code_service.card_branch(state.code, code.o.workspace, project, card, "Checkout")
    code.titles[str(card)] = "Checkout, renamed"
    assert await code_service.card_branch(state.code, code.o.workspace, project, card, "Checkout, renamed") == branch
    work = await code.clone()
    await run_git("checkout", "--quiet", branch, cwd=work)
    run = uuid.uuid4()
    cart = f"Add the cart\n\nAgentWorks-Run: {run}\nAgentWorks-Card: SHOP-7"
    await commit(work, {"shop/cart.py": "def total():\n    return 1\n"}, cart)
    await commit(work, {"README.md": "# Shop\n"}, "Describe the shop", push_to=branch)

    shown = await code.get(f"/api/cards/{card}/code")
    assert (shown["branch"], shown["exists"], shown["merged"], shown["mergeable"]) == (branch, True, False, True)
    assert [(c["message"], c["run_id"], c["card"]) for c in shown["commits"]] == [
        ("Describe the shop", None, None), (cart, str(run), "SHOP-7"),
    ]  # fmt: skip
    assert shown["files"] == [
        {"path": "README.md", "status": "modified", "additions": 1, "deletions": 3},
        {"path": "shop/cart.py", "status": "added", "additions": 2, "deletions": 0},
    ]
    assert "+def total():" in shown["diff"]
    assert shown["truncated"] is False
    listed = await code.get(f"/api/projects/{project}/repository")
    assert {b["name"]: (b["card_id"], b["ahead"]) for b in listed["branches"]}[branch] == (str(card), 2)

    merged = await code.call("POST", f"/api/cards/{card}/code/merge")
    assert merged.status_code == 200, merged.text
    sha = merged.json()["merged_sha"]
    repo = Path((await state.repos.remote(project)).url)
    assert await git_text("rev-parse", "main", cwd=repo) == sha
    assert await git_text("show", "main:shop/cart.py", cwd=repo) == "def total():\n    return 1"
    parents = (await git_text("rev-list", "--parents", "-n", "1", "main", cwd=repo)).split()
    assert len(parents) == 3  # a merge commit (--no-ff): main before, and the branch
    assert "AgentWorks-Card: SHOP-7" in await git_text("log", "-1", "--format=%B", "main", cwd=repo)
    [announced] = code.o.events("code.merged")
    assert (announced.card_id, announced.project_id, announced.workspace_id) == (card, project, code.o.workspace)
    assert (announced.merged_by, announced.branch) == (code.o.owner.user_id, branch)
    assert (announced.merged_sha, announced.base_sha) == (sha, parents[1])

    after = await code.get(f"/api/cards/{card}/code")
    assert (after["merged"], after["merged_sha"], after["mergeable"]) == (True, sha, False)
    assert len(after["commits"]) == 2  # still the card's work, against main as it was before the merge
    again = await code.call("POST", f"/api/cards/{card}/code/merge")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "nothing_to_merge")


async def test_a_conflicting_merge_changes_nothing_and_names_the_files(code: Code) -> None:
    card = code.o.card
    branch = branch_for(card, "Checkout")
    work = await code.clone()
    await run_git("checkout", "--quiet", "-b", branch, cwd=work)
    await commit(work, {"README.md": "# From the card\n", "new.py": "x = 1\n"}, "Card's README", push_to=branch)
    await run_git("checkout", "--quiet", "main", cwd=work)
    main = await commit(work, {"README.md": "# From main\n"}, "Main's README", push_to="main")

    shown = await code.get(f"/api/cards/{card}/code")
    assert (shown["mergeable"], shown["conflicts"]) == (False, ["README.md"])
    listed = await code.get(f"/api/projects/{code.o.project}/repository")
    assert {b["name"]: b["card_id"] for b in listed["branches"]}[branch] == str(card)  # recorded when first seen
    response = await code.call("POST", f"/api/cards/{card}/code/merge")
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("merge_conflict", {"files": ["README.md"]})
    state = state_of(code.o.app.state.ctx, OrchestratorState)
    repo = Path((await state.repos.remote(code.o.project)).url)
    assert await git_text("rev-parse", "main", cwd=repo) == main
    assert code.o.events("code.merged") == []  # nothing merged, nothing announced


async def test_a_card_waiting_at_its_gate_is_not_merged(code: Code) -> None:
    card = code.o.card
    work = await code.clone()
    await commit(work, {"a.py": "a = 1\n"}, "Add a", push_to=branch_for(card, "Checkout"))
    code.pending.add(str(card))
    response = await code.call("POST", f"/api/cards/{card}/code/merge")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "approval_pending")
    assert (await code.get(f"/api/cards/{card}/code"))["mergeable"] is True  # it merges cleanly, once approved


async def test_viewers_read_but_never_merge_and_other_workspaces_see_nothing(code: Code) -> None:
    card, project = code.o.card, code.o.project
    work = await code.clone()
    await commit(work, {"a.py": "a = 1\n"}, "Add a", push_to=branch_for(card, "Checkout"))
    viewer, member = code.person("viewer"), code.person("member")
    stranger = code.person("owner", code.o.directory.tenancy(uuid.uuid4()).workspace)
    key_elsewhere = Principal(code.o.owner.user_id, code.o.owner.email, uuid.uuid4(), "r", "")
    reads = [
        f"/api/projects/{project}/repository",
        f"/api/projects/{project}/repository/files",
        f"/api/projects/{project}/repository/archive.zip",
        f"/api/cards/{card}/code",
    ]
    for path in reads:
        assert (await code.call("GET", path, viewer)).status_code == 200, path
        assert (await code.call("GET", path, stranger)).status_code == 404, path
        assert (await code.call("GET", path, key_elsewhere)).status_code == 404, path
    for nobody in (f"/api/projects/{uuid.uuid4()}/repository", f"/api/cards/{uuid.uuid4()}/code"):
        assert (await code.call("GET", nobody)).status_code == 404
    refused = await code.call("POST", f"/api/cards/{card}/code/merge", viewer)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    assert (await code.call("POST", f"/api/cards/{card}/code/merge", stranger)).status_code == 404
    assert (await code.call("POST", f"/api/cards/{card}/code/merge", member)).status_code == 200


async def test_a_deleted_projects_repository_and_records_go_and_a_redelivery_is_harmless(code: Code) -> None:
    o = code.o
    state = state_of(o.app.state.ctx, OrchestratorState)
    other = o.directory.project(o.workspace)  # a second project of the workspace keeps everything
    kept = await state.code.host.ensure(other)
    branch = await code_service.card_branch(state.code, o.workspace, o.project, o.card, "Checkout")
    repository = Path((await state.repos.remote(o.project)).url)
    assert await git_view.commit_of(repository, branch) is not None
    ended, live = uuid.uuid4(), uuid.uuid4()
    work = state.code.settings.working_copies_dir
    async with o.db.transaction() as session:
        for run_id, status in ((ended, "failed"), (live, "running")):
            session.add(Run(
                id=run_id, workspace_id=o.workspace, project_id=o.project, card_id=o.card, agent="dev_backend",
                provider="offline", model="offline-small", status=status, trigger_event_id=uuid.uuid4(),
                created_at=utc_now(),
            ))  # fmt: skip
        await session.flush()
        for run_id in (ended, live):
            session.add(CommandRunRow(
                id=uuid.uuid4(), workspace_id=o.workspace, project_id=o.project, card_id=o.card, run_id=run_id,
                agent="dev_backend", call=f"1/{run_id.hex[:6]}", command="pytest", exit_code=0, output_tail="ok",
                truncated=False, timed_out=False, killed_reason=None, duration_ms=5, started_at=utc_now(),
            ))  # fmt: skip
    for run_id in (ended, live):
        await asyncio.to_thread((work / f"{run_id}-1" / "src").mkdir, parents=True)
    deleted = ProjectDeleted(workspace_id=o.workspace, project_id=o.project, actor_id=o.owner.user_id)

    # Core still has the project: the event is refused (acknowledged, never retried) and nothing is removed.
    refused = await o.push(deleted)
    assert refused.status_code == 204
    assert await asyncio.to_thread((repository / "HEAD").is_file)

    del o.directory.owners[("project", str(o.project))]
    assert (await o.push(deleted.model_copy(update={"id": uuid.uuid4()}))).status_code == 204
    assert not await asyncio.to_thread(repository.exists)
    assert await asyncio.to_thread((Path(kept.url) / "HEAD").is_file)
    assert not await asyncio.to_thread((work / f"{ended}-1").exists)
    assert await asyncio.to_thread((work / f"{live}-1").exists)  # its attempt removes it when it ends
    async with o.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CardBranch)) == 0
        assert await session.scalar(select(func.count()).select_from(CommandRunRow)) == 0

    # Delivered again, and the same work done again by hand (a handler that died after removing): harmless.
    assert (await o.push(deleted.model_copy(update={"id": uuid.uuid4()}))).status_code == 204
    await code_service.forget_project(state.code, o.project)
    assert not await asyncio.to_thread(repository.exists)


async def test_a_deleted_workspaces_projects_lose_their_repositories_and_remotes_once_each(code: Code) -> None:
    o = code.o
    state = state_of(o.app.state.ctx, OrchestratorState)
    hosted, connected = o.project, o.directory.project(o.workspace)
    elsewhere = o.directory.project(o.directory.tenancy(uuid.uuid4()).workspace)  # another workspace keeps its own
    repositories = {p: Path((await state.code.host.ensure(p)).url) for p in (hosted, connected, elsewhere)}
    await code_service.card_branch(state.code, o.workspace, hosted, o.card, "Checkout")
    mirror = state.code.settings.repos_dir / "mirrors" / f"{connected}.git"
    await asyncio.to_thread(mirror.mkdir, parents=True)
    async with o.db.transaction() as session:
        session.add(ProjectRemote(
            project_id=connected, workspace_id=o.workspace, url="https://forge.example.com/team/shop.git",
            username="x-access-token", secret_name=code_service.secret_name_of(connected), connected_by=o.owner.user_id,
            connected_at=utc_now(),
        ))  # fmt: skip
    await state.code.secrets.put(code_service.secret_name_of(connected), "forge-token")

    # Core deletes the workspace: its projects are gone from core, and one project.deleted comes for each.
    for project in (hosted, connected):
        del o.directory.owners[("project", str(project))]
    deleted = [
        ProjectDeleted(workspace_id=o.workspace, project_id=p, actor_id=o.owner.user_id) for p in (hosted, connected)
    ]
    # Each is delivered twice, and once more under a new id (as after a crash before the inbox recorded it), which
    # the handler works through again and finds nothing left to remove.
    again = [event.model_copy(update={"id": uuid.uuid4()}) for event in deleted]
    for event in (*deleted, *deleted, *again):
        assert (await o.push(event)).status_code == 204
    for project in (hosted, connected):
        assert not await asyncio.to_thread(repositories[project].exists)
    assert not await asyncio.to_thread(mirror.exists)
    assert await state.code.secrets.get(code_service.secret_name_of(connected)) is None
    async with o.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(ProjectRemote)) == 0
        assert await session.scalar(select(func.count()).select_from(CardBranch)) == 0
    assert await asyncio.to_thread((repositories[elsewhere] / "HEAD").is_file)
