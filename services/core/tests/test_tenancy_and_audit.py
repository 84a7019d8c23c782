from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_core.app import create_app
from agentworks_core.config import CoreSettings
from agentworks_core.models import MIGRATIONS, Card, Project
from agentworks_events import DocumentArtifact, RunArtifacts
from agentworks_localstack.firestore_fake import serve_firestore
from agentworks_platform.db import Database, set_tenant
from agentworks_platform.service_auth import LocalTokenSigner
from agentworks_platform.settings import dev_service_account
from agentworks_pubsub.testing import RecordingSink
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from .conftest import CORE_URL, PUSHER, Core, User


async def test_unscoped_queries_as_the_app_role_see_only_the_current_tenant(core: Core, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("row-level security is a PostgreSQL feature; SQLite relies on the scoped queries")
    world = await core.world()
    db: Database = core.client._transport.app.state.ctx.db  # type: ignore[attr-defined]
    a, b = uuid.UUID(world.ids["a"]["workspace"]), uuid.UUID(world.ids["b"]["workspace"])
    async with db.transaction() as session:
        assert (await session.scalar(text("SELECT current_user"))) == "agentworks_core_app"
        assert await session.scalar(select(func.count()).select_from(Card)) == 0  # no tenant set: nothing
        await set_tenant(session, workspace_id=a)
        cards = (await session.scalars(select(Card))).all()  # deliberately unscoped
        projects = (await session.scalars(select(Project))).all()
    assert {c.workspace_id for c in cards} == {a}
    assert {p.workspace_id for p in projects} == {a}

    async def move_rows_to_the_other_tenant() -> None:
        async with db.transaction() as session:
            await set_tenant(session, workspace_id=a)
            await session.execute(text("UPDATE cards SET workspace_id = :b"), {"b": b})

    with pytest.raises(DBAPIError, match="row-level security"):
        await move_rows_to_the_other_tenant()


async def test_every_state_change_is_audited_for_owners(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    card = await core.ok("POST", f"/api/projects/{a['project']}/cards", world.member, {"title": "Audit me"})
    await core.ok("PUT", f"/api/cards/{card['id']}/move", world.member, {"lane_id": a["lanes"][3]})
    await core.ok("PATCH", f"/api/lanes/{a['lanes'][3]}", world.member, {"wip_limit": 3})
    page = await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit?limit=3", world.owner)
    actions = [e["action"] for e in page["items"]]
    assert actions == ["lane.updated", "card.moved", "card.created"]
    moved = page["items"][1]
    assert moved["actor_id"] == str(world.member.id)
    assert moved["before"]["lane_id"] == a["lanes"][0]
    assert moved["after"]["lane_id"] == a["lanes"][3]
    assert moved["request_id"] == "req-1"
    assert moved["client_ip"] == "203.0.113.9"
    rest = await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit?cursor={page['next_cursor']}", world.owner)
    assert {"member.invited", "project.created", "workspace.created", "document.versioned"} <= {
        e["action"] for e in rest["items"]
    }


async def test_another_services_entry_is_recorded_once_however_often_it_is_sent(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    key_id = uuid.uuid4()
    entry = {
        "entry_id": str(uuid.uuid4()),
        "actor_id": str(world.member.id),
        "action": "api_key.created",
        "resource_type": "api_key",
        "resource_id": str(key_id),
        "after": {"name": "ci", "prefix": "aw_12345678"},
        "request_id": "req-7",
        "client_ip": "198.51.100.4",
    }
    path = f"/internal/workspaces/{a['workspace']}/audit"
    for _ in range(2):  # the gateway's retry of one change sends the same entry again
        assert (await core.call("POST", path, None, entry)).status_code == 204
    recorded = await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit?limit=200", world.owner)
    [stored] = [e for e in recorded["items"] if e["resource_id"] == str(key_id)]
    assert (stored["id"], stored["actor_id"], stored["action"]) == (
        entry["entry_id"],
        entry["actor_id"],
        entry["action"],
    )
    assert (stored["after"], stored["request_id"], stored["client_ip"]) == (entry["after"], "req-7", "198.51.100.4")
    revoked = {**entry, "entry_id": str(uuid.uuid4()), "action": "api_key.revoked"}
    assert (await core.call("POST", path, None, revoked)).status_code == 204
    recorded = await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit?limit=200", world.owner)
    actions = sorted(e["action"] for e in recorded["items"] if e["resource_id"] == str(key_id))
    assert actions == ["api_key.created", "api_key.revoked"]
    unnamed = await core.call("POST", path, None, {k: v for k, v in entry.items() if k != "entry_id"})
    assert unnamed.status_code == 422


async def test_last_owner_cannot_be_removed_or_demoted(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    members = await core.ok("GET", f"/api/workspaces/{a['workspace']}/members", world.owner)
    owner_member = next(m for m in members if m["role"] == "owner")
    for method, body in (("PATCH", {"role": "member"}), ("DELETE", None)):
        refused = await core.call(
            method, f"/api/workspaces/{a['workspace']}/members/{owner_member['id']}", world.owner, body
        )
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "last_owner"
    await core.ok(
        "PATCH", f"/api/workspaces/{a['workspace']}/members/{a['member_member']}", world.owner, {"role": "owner"}
    )
    await core.ok(
        "PATCH", f"/api/workspaces/{a['workspace']}/members/{owner_member['id']}", world.owner, {"role": "viewer"}
    )
    demoted = await core.call(
        "POST", f"/api/workspaces/{a['workspace']}/members", world.owner, {"email": "x@example.com"}
    )
    assert demoted.status_code == 403


async def test_documents_keep_every_version(core: Core) -> None:
    world = await core.world()
    base = f"/api/projects/{world.ids['a']['project']}/documents/prd"
    for n in range(2, 5):
        await core.ok("PUT", base, world.member, {"content": f"# PRD v{n}", "title": "PRD"})
    latest = await core.ok("GET", base, world.viewer)
    assert (latest["version"], latest["content"]) == (4, "# PRD v4")
    first = await core.ok("GET", f"{base}/versions/1", world.viewer)
    assert first["content"] == "# PRD v1"
    page = await core.ok("GET", f"{base}/versions?limit=2", world.viewer)
    assert [v["version"] for v in page["items"]] == [4, 3]
    rest = await core.ok("GET", f"{base}/versions?limit=2&cursor={page['next_cursor']}", world.viewer)
    assert [v["version"] for v in rest["items"]] == [2, 1]
    assert rest["next_cursor"] is None
    missing = await core.call("GET", f"{base}/versions/9", world.viewer)
    assert missing.status_code == 404


async def test_agent_configuration_is_validated_against_the_router_models(core: Core) -> None:
    world = await core.world()
    base = f"/api/projects/{world.ids['a']['project']}/agents"
    agents = await core.ok("GET", base, world.viewer)
    prd = next(a for a in agents if a["agent"] == "prd")
    assert (prd["provider"], prd["model"], prd["overridden"]) == ("openai", "gpt-5", False)
    models = await core.ok("GET", "/api/models", world.viewer)
    assert {"provider": "openai", "model": "gpt-5"} in models
    assert {"provider": "offline", "model": "offline-small"} in models
    assert models == sorted(models, key=lambda m: (m["provider"], m["model"]))
    assert {a["agent"] for a in agents} >= {"ceo_copilot", "designer", "architect", "troubleshooter"}
    unknown = await core.call("PUT", f"{base}/prd", world.member, {"provider": "openai", "model": "gpt-99"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_model"
    mismatched = await core.call(
        "PUT", f"{base}/prd", world.member, {"provider": "openai", "model": "claude-3-5-sonnet"}
    )
    assert mismatched.status_code == 422
    no_agent = await core.call("PUT", f"{base}/nobody", world.member, {"provider": "offline", "model": "offline-small"})
    assert no_agent.status_code == 404
    set_ = await core.ok(
        "PUT", f"{base}/prd", world.member, {"provider": "offline", "model": "offline-small", "enabled": False}
    )
    assert (set_["provider"], set_["enabled"], set_["overridden"]) == ("offline", False, True)


async def _single_call_run_writes_the_blueprint(core: Core, owner: User, workspace: str, project: str) -> Any:
    """A single-call run's document lands where the documents page reads, saying which agent wrote it."""
    card = await core.ok("POST", f"/api/projects/{project}/cards", owner, {"title": "Plan"})
    artifacts = RunArtifacts(
        documents=(DocumentArtifact(kind="blueprint", title="Blueprint", content="blueprint by a run"),)
    )
    await core.completed_run(workspace, project, card["id"], artifacts=artifacts, agent="architect")
    return await core.ok("GET", f"/api/projects/{project}/documents/blueprint/versions/3", owner)


async def test_documents_api_on_the_firestore_adapter(
    migrated_database: Callable[[Path], str], tmp_path: Path, dev_key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same API over the production adapter, with the real Firestore client against the stand-in."""
    server, fake, port = await serve_firestore()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{port}")
    key_path = dev_key_file
    key = key_path.read_bytes()
    settings = CoreSettings(
        environment="test",
        dev_signing_key_file=key_path,
        documents_backend="firestore",
        database_url=migrated_database(MIGRATIONS),
    )
    app = create_app(settings, sink=RecordingSink())
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=CORE_URL) as client:
                core = Core(
                    client,
                    RecordingSink(),
                    LocalTokenSigner(key, dev_service_account("gateway")),
                    LocalTokenSigner(key, PUSHER),
                )
                owner = User.new("owner")
                workspace = await core.ok("POST", "/api/workspaces", owner, {"name": "Docs"})
                project = await core.ok("POST", f"/api/workspaces/{workspace['id']}/projects", owner, {"name": "P"})
                base = f"/api/projects/{project['id']}/documents/blueprint"
                for n in (1, 2):
                    await core.ok("PUT", base, owner, {"content": f"blueprint v{n}"})
                latest = await core.ok("GET", base, owner)
                history = await core.ok("GET", f"{base}/versions", owner)
                by_run = await _single_call_run_writes_the_blueprint(core, owner, workspace["id"], project["id"])
    finally:
        await server.stop(grace=None)
    assert (latest["version"], latest["content"]) == (2, "blueprint v2")
    assert [v["version"] for v in history["items"]] == [2, 1]
    assert (by_run["version"], by_run["agent"], by_run["content"]) == (3, "architect", "blueprint by a run")
    assert sum("/docs/blueprint/versions/" in name for name in fake.documents) == 3  # the run's too
