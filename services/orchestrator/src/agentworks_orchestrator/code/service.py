"""The code domain: a project's repository (made on first use), cards' branches, their diffs, and merges."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from agentworks_events import CodeMerged
from agentworks_internal_api.core import CARD_GATE, PROJECT_OWNER, CardGateOut, MemberLookupError, member_role
from agentworks_platform.clock import utc_now
from agentworks_platform.db import Database
from agentworks_platform.errors import AppError, Conflict, Forbidden, NotFound, Unavailable
from agentworks_platform.internal_http import InternalClient
from agentworks_platform.logging import get_logger
from agentworks_platform.principal import Principal
from agentworks_pubsub import Outbox
from agentworks_repos import (
    DEFAULT_BRANCH,
    FLEET_IDENTITY,
    GitError,
    GitRemote,
    LocalRepositoryHost,
    RepositoryHost,
    git_text,
    run_git,
)
from agentworks_secrets import SecretSource
from sqlalchemy.exc import IntegrityError

from agentworks_orchestrator.code import git_view, remotes, repository
from agentworks_orchestrator.code.branches import branch_for, card_prefix_of
from agentworks_orchestrator.code.git_http import CgiResponse, GitRequest, http_backend, relay
from agentworks_orchestrator.code.git_view import CARD_TRAILER
from agentworks_orchestrator.code.schemas import (
    BranchOut,
    CardCodeOut,
    ChangedFileOut,
    CommandRunOut,
    CommandRunsOut,
    CommitOut,
    ConnectedRemoteOut,
    EntryOut,
    FilesOut,
    MergeOut,
    RemoteIn,
    RepositoryOut,
)
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.models import CardBranch, ProjectRemote

log = get_logger(__name__)

WRITERS = frozenset({"owner", "member"})
COMMAND_RUNS_SHOWN = 200
DIFF_LIMIT = 400_000
FILE_LIMIT = 200_000


class CoreUnavailableError(MemberLookupError):
    """Core did not say who owns a card or project."""


@dataclass
class CodeContext:
    """What the code domain's functions work with for the service's lifetime: core (who may), the repository host,
    the relay client to a host that is not on this machine, the outbox a merge is announced through, the secrets
    connected remotes' tokens are kept in, and a lock per project's local mirror."""

    db: Database
    core: InternalClient
    host: RepositoryHost
    settings: OrchestratorSettings
    relay: httpx.AsyncClient
    outbox: Outbox
    secrets: SecretSource
    locks: dict[uuid.UUID, asyncio.Lock] = field(default_factory=dict)


# --- access --------------------------------------------------------------------------------------------


async def _role(code: CodeContext, principal: Principal, workspace_id: uuid.UUID, what: str) -> str:
    if principal.key_workspace_id not in (None, workspace_id):
        raise NotFound(f"No {what}.")
    try:
        role = await member_role(code.core, workspace_id, principal.user_id)
    except MemberLookupError:
        raise Unavailable("Workspaces are unavailable right now; try again shortly.") from None
    if role is None:
        raise NotFound(f"No {what}.")
    return role


async def _project_access(code: CodeContext, principal: Principal, project_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    try:
        owner = await PROJECT_OWNER.ask(code.core, project_id, unavailable=CoreUnavailableError)
    except CoreUnavailableError:
        raise Unavailable("Projects are unavailable right now; try again shortly.") from None
    if owner is None:
        raise NotFound(f"No project with id {project_id}.")
    return owner.workspace_id, await _role(code, principal, owner.workspace_id, f"project with id {project_id}")


async def project_role(code: CodeContext, principal: Principal, project_id: uuid.UUID) -> str:
    """The caller's role in the project's workspace; 404 for a project they cannot see."""
    return (await _project_access(code, principal, project_id))[1]


async def project_of_owner(code: CodeContext, principal: Principal, project_id: uuid.UUID) -> uuid.UUID:
    """The project's workspace when the caller is one of its owners; 403 for members and viewers, 404 for a
    project they cannot see."""
    workspace_id, role = await _project_access(code, principal, project_id)
    if role != "owner":
        raise Forbidden("Only the workspace's owners connect or disconnect a project's remote.")
    return workspace_id


async def card_gate(code: CodeContext, principal: Principal, card_id: uuid.UUID, *, write: bool = False) -> CardGateOut:
    """The card as core holds it; 404 for a card the caller cannot see, 403 for a viewer when ``write``."""
    try:
        gate = await CARD_GATE.ask(code.core, card_id, unavailable=CoreUnavailableError)
    except CoreUnavailableError:
        raise Unavailable("Cards are unavailable right now; try again shortly.") from None
    if gate is None:
        raise NotFound(f"No card with id {card_id}.")
    role = await _role(code, principal, gate.workspace_id, f"card with id {card_id}")
    if write and role not in WRITERS:
        raise Forbidden("Your role does not allow merging code.")
    return gate


async def command_runs(code: CodeContext, gate: CardGateOut) -> CommandRunsOut:
    """The commands agents ran on the card's working copies, newest first."""
    async with code.db.transaction() as session:
        rows = await repository.command_runs_of_card(session, gate.card_id, COMMAND_RUNS_SHOWN)
        return CommandRunsOut([CommandRunOut.model_validate(row) for row in rows])


# --- the repository ------------------------------------------------------------------------------------


def clone_url(code: CodeContext, project_id: uuid.UUID) -> str:
    return f"{code.settings.git_public_url.rstrip('/')}/{project_id}.git"


def secret_name_of(project_id: uuid.UUID) -> str:
    """The secret holding the token of the project's connected remote."""
    return f"project-git-token-{project_id}"


async def _connected_row(code: CodeContext, project_id: uuid.UUID) -> ProjectRemote | None:
    async with code.db.transaction() as session:
        return await repository.project_remote(session, project_id)


async def _connected(code: CodeContext, project_id: uuid.UUID) -> GitRemote | None:
    """The project's connected remote, its host resolved and checked again now (an address it moved to since
    it was connected is refused like one given at connect time), or None."""
    row = await _connected_row(code, project_id)
    if row is None:
        return None
    token = await code.secrets.get(row.secret_name)
    if token is None:
        raise Unavailable("The connected remote's token is missing; connect the remote again.")
    target = await remotes.resolved(row.url, code.settings.remote_allow_loopback)
    return remotes.git_remote(target, row.username, token, code.settings.remote_timeout_seconds)


async def remote_of(code: CodeContext, project_id: uuid.UUID) -> GitRemote:
    """The project's connected remote when it has one, else its repository on the platform's host (made on first
    use)."""
    return await _connected(code, project_id) or await code.host.ensure(project_id)


async def local(code: CodeContext, project_id: uuid.UUID) -> Path:
    """A repository on this machine holding the project's branches: the embedded host's own, else a mirror of the
    host's or the connected remote's, fetched now."""
    remote = await _connected(code, project_id)
    if remote is None:
        remote = await code.host.ensure(project_id)
        if code.host.kind == "embedded":
            return Path(remote.url)
    lock = code.locks.setdefault(project_id, asyncio.Lock())
    async with lock:
        mirror = code.settings.repos_dir / "mirrors" / f"{project_id}.git"
        if not (mirror / "HEAD").is_file():
            await run_git("init", "--quiet", "--bare", f"--initial-branch={DEFAULT_BRANCH}", str(mirror))
        await run_git(
            "fetch", "--quiet", "--prune", remote.url, "+refs/heads/*:refs/heads/*", cwd=mirror, remote=remote
        )
        return mirror


async def project_repository(code: CodeContext, project_id: uuid.UUID) -> RepositoryOut:
    repo = await local(code, project_id)
    connected = await _connected_row(code, project_id)
    async with code.db.transaction() as session:
        cards = {row.branch: row.card_id for row in await repository.branches_of_project(session, project_id)}
    head = await git_text("rev-parse", DEFAULT_BRANCH, cwd=repo)
    listed = []
    for branch in await git_view.branches(repo):
        ahead, behind = await git_view.ahead_behind(repo, DEFAULT_BRANCH, branch.sha)
        listed.append(
            BranchOut(name=branch.name, sha=branch.sha, card_id=cards.get(branch.name), ahead=ahead, behind=behind)
        )
    listed.sort(key=lambda b: (b.name != DEFAULT_BRANCH, b.name))
    return RepositoryOut(
        project_id=project_id,
        default_branch=DEFAULT_BRANCH,
        clone_url=connected.url if connected else clone_url(code, project_id),
        remote_kind="connected" if connected else "hosted",
        remote=ConnectedRemoteOut.model_validate(connected) if connected else None,
        head_sha=head,
        branches=listed,
    )


def checked_ref(ref: str | None) -> str:
    """The ref a person asked for (the default branch when none); 400 ``invalid_ref`` for one git would refuse."""
    if ref is None:
        return DEFAULT_BRANCH
    problem = git_view.ref_problem(ref)
    if problem is not None:
        raise AppError(f"{ref[:100]!r} is not a branch, tag or commit name: {problem}.", code="invalid_ref")
    return ref


async def _commit(repo: Path, name: str) -> tuple[str, str]:
    commit = await git_view.commit_of(repo, name)
    if commit is None:
        raise NotFound(f"No branch, tag or commit named {name!r}.")
    return name, commit


async def files(code: CodeContext, project_id: uuid.UUID, ref: str | None, path: str) -> FilesOut:
    wanted = checked_ref(ref)
    clean = git_view.clean_path(path)
    if clean is None:
        raise AppError("A path names a file or directory inside the repository.", code="invalid_path")
    repo = await local(code, project_id)
    name, commit = await _commit(repo, wanted)
    kind = "tree" if clean == "" else await git_view.object_type(repo, commit, clean)
    if kind == "tree":
        entries = [EntryOut(**asdict(e)) for e in await git_view.tree(repo, commit, clean)]
        return FilesOut(
            ref=name,
            commit=commit,
            path=clean,
            kind="dir",
            entries=entries,
            content=None,
            binary=False,
            truncated=False,
        )
    if kind != "blob":
        raise NotFound(f"No file or directory {clean!r} at {name}.")
    data = await git_view.blob(repo, commit, clean)
    binary = b"\x00" in data[:8000]
    text = None if binary else data[:FILE_LIMIT].decode(errors="replace")
    return FilesOut(
        ref=name,
        commit=commit,
        path=clean,
        kind="file",
        entries=[],
        content=text,
        binary=binary,
        truncated=len(data) > FILE_LIMIT,
    )


async def archive(code: CodeContext, project_id: uuid.UUID, ref: str | None) -> tuple[str, AsyncIterator[bytes]]:
    """The zip's file name and its bytes as git writes them."""
    wanted = checked_ref(ref)
    repo = await local(code, project_id)
    name, commit = await _commit(repo, wanted)
    # A ref may hold any character a header cannot (quotes, non-ASCII): the file name keeps only plain ones.
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", name)
    try:
        chunks = await git_view.archive(repo, commit)
    except GitError as exc:
        log.warning("code.archive_failed", project_id=str(project_id), commit=commit, git=exc.stderr.strip()[:500])
        message = f"The zip of {name!r} could not be made: the repository could not be read. Try again later."
        raise AppError(message, code="archive_failed", status_code=503) from None
    return f"{project_id}-{plain}.zip", chunks


async def git_http(
    code: CodeContext, project_id: uuid.UUID, request: GitRequest, body: AsyncIterator[bytes]
) -> CgiResponse:
    """A person's git request on the project's repository (access already checked): served by
    ``git http-backend`` on the embedded host's repository, relayed to any other host; a project connected to a
    remote of its own is refused with where that remote is (people use it with their forge's credentials)."""
    connected = await _connected_row(code, project_id)
    if connected is not None:
        message = (
            f"This project's repository is {connected.url}; clone, fetch and push there with your own credentials.\n"
        )
        return CgiResponse(404, {"content-type": "text/plain; charset=utf-8"}, _once(message.encode()))
    if isinstance(code.host, LocalRepositoryHost):
        return await http_backend(await local(code, project_id), request, body, code.host.receive_env())
    return await relay(code.relay, await remote_of(code, project_id), request, body)


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


# --- a remote of the project's own ----------------------------------------------------------------------


async def connect_remote(
    code: CodeContext, workspace_id: uuid.UUID, project_id: uuid.UUID, remote_in: RemoteIn, principal: Principal
) -> ConnectedRemoteOut:
    """Connect the project to a remote of its own (or replace the one it had) once git reached it with the token:
    its URL is checked as a server-side request (see ``remotes``), an empty remote is given the default branch,
    and the token is kept by the secrets port, never in the database or an answer."""
    token = remote_in.token.get_secret_value()
    if not remotes.TOKEN.fullmatch(token):
        raise AppError("A token is printable characters without spaces.", code="invalid_token")
    username = remote_in.username or remotes.DEFAULT_USERNAME
    target = await remotes.resolved(remote_in.url, code.settings.remote_allow_loopback)
    remote = remotes.git_remote(target, username, token, code.settings.remote_timeout_seconds)
    branches = await remotes.heads(remote, token)
    if not branches:
        await _start_default_branch(remote, token)
    elif DEFAULT_BRANCH not in branches:
        raise remotes.RemoteRefusedError(
            f"The remote has no {DEFAULT_BRANCH} branch, which agents branch from and merges land on.",
            code="remote_default_branch_missing",
        )
    await code.secrets.put(secret_name_of(project_id), token)
    row = ProjectRemote(
        project_id=project_id,
        workspace_id=workspace_id,
        url=target.url,
        username=username,
        secret_name=secret_name_of(project_id),
        connected_by=principal.user_id,
        connected_at=utc_now(),
    )
    async with code.db.transaction() as session:
        await repository.save_project_remote(session, row)
    # Not the repository with its branches: reading them fetches the whole remote, which may outlast the request.
    return ConnectedRemoteOut.model_validate(row)


async def _start_default_branch(remote: GitRemote, token: str) -> None:
    with tempfile.TemporaryDirectory(prefix="aw-remote-") as scratch:
        try:
            await remotes.start_default_branch(remote, Path(scratch))
        except GitError as refused:
            reason = remotes.reason_of(refused.stderr, token)
            raise remotes.RemoteRefusedError(
                f"The remote is empty and refused its first branch: {reason}", code="remote_push_refused"
            ) from None


async def disconnect_remote(code: CodeContext, project_id: uuid.UUID) -> None:
    """Return the project to the platform's repository: the connection and its token's secret are deleted; the
    remote keeps everything pushed to it."""
    async with code.db.transaction() as session:
        await repository.delete_project_remote(session, project_id)
    await code.secrets.delete(secret_name_of(project_id))


async def project_exists(code: CodeContext, project_id: uuid.UUID) -> bool:
    """Whether core still has the project (raises :class:`CoreUnavailableError` when core cannot say)."""
    return await PROJECT_OWNER.ask(code.core, project_id, unavailable=CoreUnavailableError) is not None


async def forget_project(code: CodeContext, project_id: uuid.UUID) -> None:
    """Remove a deleted project's repository from the host, this instance's mirror of it and stray working copies
    of its ended runs, its connection to a remote of its own (the remote itself is the team's and stays), then its
    card branch and command run records. Each step finds nothing left to do when it was done already, so a
    redelivered event (or one whose handler died half-way) is harmless."""
    await code.host.delete(project_id)
    await disconnect_remote(code, project_id)
    lock = code.locks.setdefault(project_id, asyncio.Lock())
    async with lock:
        mirror = code.settings.repos_dir / "mirrors" / f"{project_id}.git"
        await asyncio.to_thread(shutil.rmtree, mirror, True)
    code.locks.pop(project_id, None)
    async with code.db.transaction() as session:
        ended = await repository.ended_runs_of_project(session, project_id)
    # A live attempt removes its own working copy when it ends; one that died may have left it behind.
    await asyncio.to_thread(_remove_working_copies, code.settings.working_copies_dir, ended)
    async with code.db.transaction() as session:
        await repository.forget_project(session, project_id)


def _remove_working_copies(work: Path, run_ids: list[uuid.UUID]) -> None:
    for run_id in run_ids:
        for stray in work.glob(f"{run_id}-*"):
            shutil.rmtree(stray, ignore_errors=True)


# --- cards' branches -----------------------------------------------------------------------------------


async def card_branch(
    code: CodeContext, workspace_id: uuid.UUID, project_id: uuid.UUID, card_id: uuid.UUID, title: str
) -> str:
    """The card's branch, made from the default branch and recorded the first time (idempotent): the name
    stays the one first given, whatever the card is renamed to later."""
    async with code.db.transaction() as session:
        known = await repository.card_branch(session, card_id)
    if known is not None:
        return known.branch
    remote = await remote_of(code, project_id)
    repo = await local(code, project_id)
    branch = branch_for(card_id, title)
    start = await git_view.commit_of(repo, branch)
    if start is None:
        start = await _create_branch(repo, remote, branch, await git_text("rev-parse", DEFAULT_BRANCH, cwd=repo))
    try:
        async with code.db.transaction() as session:
            session.add(
                CardBranch(
                    card_id=card_id,
                    workspace_id=workspace_id,
                    project_id=project_id,
                    branch=branch,
                    base_sha=start,
                    created_at=utc_now(),
                )
            )
    except IntegrityError:
        pass  # recorded meanwhile by another run of the card: the same name
    return branch


async def _create_branch(repo: Path, remote: GitRemote, branch: str, start: str) -> str:
    """Push the new ``branch`` at ``start``; returns the commit it starts at. The card's other agents of the lane start
    at the same moment and push it too: the repository then refuses all but the first push, and the branch they
    made is the one to use."""
    pushed = await run_git(
        "push", "--quiet", remote.url, f"{start}:refs/heads/{branch}", cwd=repo, remote=remote, check=False
    )
    if pushed.exit_code == 0:
        return start
    listed = await git_text("ls-remote", "--heads", remote.url, f"refs/heads/{branch}", remote=remote)
    made = next((line.split("\t", 1)[0] for line in listed.splitlines() if line.endswith(f"refs/heads/{branch}")), None)
    if made is None:
        raise GitError(("push", remote.url), pushed.exit_code, pushed.stderr.decode("utf-8", errors="replace"))
    return made


async def _branch_of(code: CodeContext, repo: Path, gate: CardGateOut) -> tuple[str, CardBranch | None]:
    async with code.db.transaction() as session:
        known = await repository.card_branch(session, gate.card_id)
    if known is not None:
        return known.branch, known
    named = branch_for(gate.card_id, gate.title)
    prefix = gate.card_id.hex[:8]
    if await git_view.commit_of(repo, named) is None:
        pushed = [b.name for b in await git_view.branches(repo) if card_prefix_of(b.name) == prefix]
        if not pushed:
            return named, None
        named = pushed[0]
    return named, await _record(code, repo, gate, named)


def _branch_row(gate: CardGateOut, branch: str, base_sha: str) -> CardBranch:
    """A card's branch as the repository lists it, leaving the default branch at ``base_sha``."""
    return CardBranch(
        card_id=gate.card_id,
        workspace_id=gate.workspace_id,
        project_id=gate.project_id,
        branch=branch,
        base_sha=base_sha,
        created_at=utc_now(),
    )


async def _record(code: CodeContext, repo: Path, gate: CardGateOut, branch: str) -> CardBranch:
    """Record a card's branch made without the orchestrator naming it (pushed by a person or an older run),
    from where it left the default branch, so that the repository lists it with its card."""
    base = await git_text("merge-base", DEFAULT_BRANCH, branch, cwd=repo)
    row = _branch_row(gate, branch, base)
    try:
        async with code.db.transaction() as session:
            session.add(row)
    except IntegrityError:
        async with code.db.transaction() as session:
            known = await repository.card_branch(session, gate.card_id)
        assert known is not None  # the row that won the race
        return known
    return row


async def card_code(code: CodeContext, gate: CardGateOut) -> CardCodeOut:
    repo = await local(code, gate.project_id)
    branch, known = await _branch_of(code, repo, gate)
    tip = await git_view.commit_of(repo, branch)
    empty = CardCodeOut(
        card_id=gate.card_id,
        branch=branch,
        base=DEFAULT_BRANCH,
        exists=False,
        commits=[],
        files=[],
        diff="",
        truncated=False,
        merged=False,
        merged_sha=None,
        mergeable=False,
        conflicts=[],
    )
    if tip is None:
        return empty
    ahead, _ = await git_view.ahead_behind(repo, DEFAULT_BRANCH, tip)
    merged_sha = known.merged_sha if known else None
    merged = ahead == 0 and (merged_sha is not None or (known is not None and tip != known.base_sha))
    base = DEFAULT_BRANCH
    if merged and known is not None:
        base = known.merged_base_sha or known.base_sha
    history = await git_view.commits(repo, f"{base}..{tip}")
    files = await git_view.changed_files(repo, base, tip)
    diff, truncated = await git_view.diff_text(repo, base, tip, DIFF_LIMIT)
    conflicts = [] if merged or ahead == 0 else await git_view.conflicts(repo, DEFAULT_BRANCH, tip)
    return empty.model_copy(
        update={
            "exists": True,
            "commits": [CommitOut(**asdict(c)) for c in history],
            "files": [ChangedFileOut.model_validate(asdict(f)) for f in files],
            "diff": diff,
            "truncated": truncated,
            "merged": merged,
            "merged_sha": merged_sha if merged else None,
            "mergeable": not merged and ahead > 0 and conflicts == [],
            "conflicts": conflicts or [],
        }
    )


async def merge(code: CodeContext, gate: CardGateOut, principal: Principal) -> MergeOut:
    """Merge the card's branch into the default branch (``--no-ff``) in a temporary working copy and push it
    without force; a conflict changes nothing and answers 409 with the files. The merge is recorded on the card's
    branch and announced (``code.merged``) in one transaction."""
    if gate.approval_pending:
        raise Conflict(
            f"A run on this card waits for approval in {gate.lane_name or 'its lane'}; decide it before merging.",
            code="approval_pending",
        )
    repo = await local(code, gate.project_id)
    branch, _ = await _branch_of(code, repo, gate)
    tip = await git_view.commit_of(repo, branch)
    if tip is None or (await git_view.ahead_behind(repo, DEFAULT_BRANCH, tip))[0] == 0:
        raise Conflict(f"Branch {branch} has nothing the default branch lacks.", code="nothing_to_merge")
    remote = await remote_of(code, gate.project_id)
    merged_sha, before = await _merge_and_push(remote, branch, gate, principal)
    async with code.db.transaction() as session:
        row = await repository.card_branch(session, gate.card_id)
        if row is None:
            row = _branch_row(gate, branch, before)
            session.add(row)
        row.merged_sha, row.merged_base_sha = merged_sha, before
        row.merged_by, row.merged_at = principal.user_id, utc_now()
        await code.outbox.add(session, _merged(gate, principal, branch, merged_sha, before))
    return MergeOut(merged_sha=merged_sha)


def _merged(gate: CardGateOut, principal: Principal, branch: str, merged_sha: str, before: str) -> CodeMerged:
    return CodeMerged(
        workspace_id=gate.workspace_id,
        project_id=gate.project_id,
        card_id=gate.card_id,
        merged_by=principal.user_id,
        branch=branch,
        merged_sha=merged_sha,
        base_sha=before,
    )


async def _merge_and_push(remote: GitRemote, branch: str, gate: CardGateOut, principal: Principal) -> tuple[str, str]:
    """The merge commit and the default branch before it. A push refused because the default branch moved
    meanwhile is merged again once."""
    person = {"GIT_AUTHOR_NAME": principal.email, "GIT_AUTHOR_EMAIL": principal.email}
    trailers = f"{CARD_TRAILER}: {gate.human_id or gate.card_id}\nAgentWorks-Merged-By: {principal.user_id}"
    message = f"Merge {branch}: {gate.title}\n\n{trailers}\n"
    for attempt in range(2):
        with tempfile.TemporaryDirectory(prefix="aw-merge-") as scratch:
            work = Path(scratch) / "work"
            await run_git("clone", "--quiet", "--branch", DEFAULT_BRANCH, remote.url, str(work), remote=remote)
            await run_git(
                "fetch",
                "--quiet",
                "origin",
                f"refs/heads/{branch}:refs/remotes/origin/{branch}",
                cwd=work,
                remote=remote,
            )
            before = await git_text("rev-parse", "HEAD", cwd=work)
            merging = await run_git(
                "merge",
                "--no-ff",
                "--no-edit",
                "-m",
                message,
                f"origin/{branch}",
                cwd=work,
                env={**FLEET_IDENTITY, **person},
                check=False,
            )
            if merging.exit_code != 0:
                files = (await git_text("diff", "--name-only", "--diff-filter=U", cwd=work)).splitlines()
                await run_git("merge", "--abort", cwd=work, check=False)
                raise AppError(
                    f"Merging {branch} conflicts in {len(files)} file(s); resolve them on the branch first.",
                    code="merge_conflict",
                    status_code=409,
                    details={"files": files},
                )
            merged = await git_text("rev-parse", "HEAD", cwd=work)
            try:
                await run_git("push", "--quiet", "origin", f"HEAD:refs/heads/{DEFAULT_BRANCH}", cwd=work, remote=remote)
            except GitError:
                if attempt == 0:
                    continue
                raise Conflict("The default branch kept moving; try the merge again.", code="main_moved") from None
            return merged, before
    raise AssertionError("unreachable")
