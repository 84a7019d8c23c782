"""Invitations are taken up only with their secret link, by the invited email, once, before they expire."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from agentworks_core.models import Invitation
from agentworks_events import utc_now
from agentworks_events.timestamps import as_utc
from agentworks_platform.db import Database
from sqlalchemy import select, update

from .conftest import Core, User, World

ACCEPT = "/api/invitations/accept"


async def _invite(core: Core, world: World, email: str, role: str = "member", tenant: str = "a") -> dict[str, Any]:
    owner = world.owner if tenant == "a" else world.stranger
    path = f"/api/workspaces/{world.ids[tenant]['workspace']}/members"
    invited: dict[str, Any] = await core.ok("POST", path, owner, {"email": email, "role": role})
    return invited


def _db(core: Core) -> Database:
    db: Database = core.app.state.ctx.db
    return db


async def test_signing_up_with_an_invited_email_grants_nothing_without_the_link(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    guest = User.new("guest")
    await _invite(core, world, guest.email)
    assert (await core.call("GET", f"/api/workspaces/{a['workspace']}", guest)).status_code == 404
    assert (await core.call("GET", f"/api/projects/{a['project']}", guest)).status_code == 404
    assert await core.ok("GET", "/api/workspaces", guest) == []
    members = await core.ok("GET", f"/api/workspaces/{a['workspace']}/members", world.owner)
    assert [m["status"] for m in members if m["email"] == guest.email] == ["invited"]


async def test_the_invited_person_accepts_with_the_link(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    guest = User.new("guest")
    invited = await _invite(core, world, guest.email.upper(), role="viewer")
    assert invited["email"] == guest.email
    assert invited["status"] == "invited"
    joined = await core.ok("POST", ACCEPT, guest, {"token": invited["invitation"]["token"]})
    assert (joined["id"], joined["role"], joined["name"]) == (a["workspace"], "viewer", "Workspace a")
    mine = await core.ok("GET", "/api/workspaces", guest)
    assert [(w["id"], w["role"]) for w in mine] == [(a["workspace"], "viewer")]
    assert (await core.call("GET", f"/api/projects/{a['project']}", guest)).status_code == 200
    audit = await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit", world.owner)
    accepted = next(e for e in audit["items"] if e["action"] == "member.invitation_accepted")
    assert (accepted["actor_id"], accepted["resource_id"]) == (str(guest.id), invited["id"])


async def test_the_link_is_random_expires_in_a_week_and_is_kept_only_as_a_hash(core: Core) -> None:
    world = await core.world()
    first = await _invite(core, world, User.new("one").email)
    second = await _invite(core, world, User.new("two").email)
    token = first["invitation"]["token"]
    assert token != second["invitation"]["token"]
    assert len(token) >= 40
    async with _db(core).transaction() as session:
        stored = await session.scalar(select(Invitation).where(Invitation.member_id == uuid.UUID(first["id"])))
    assert stored is not None
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.token_hash, str(stored.member_id)}
    lifetime = as_utc(stored.expires_at) - utc_now()
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)


async def test_another_account_cannot_accept_and_learns_nothing_of_the_workspace(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    guest, thief = User.new("guest"), User.new("thief")
    token = (await _invite(core, world, guest.email))["invitation"]["token"]
    refused = await core.call("POST", ACCEPT, thief, {"token": token})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "invitation_email_mismatch")
    assert a["workspace"] not in refused.text
    assert "Workspace a" not in refused.text
    assert (await core.call("GET", f"/api/workspaces/{a['workspace']}", thief)).status_code == 404
    assert (await core.call("POST", ACCEPT, guest, {"token": token})).status_code == 200


async def test_an_expired_link_is_refused(core: Core) -> None:
    world = await core.world()
    guest = User.new("guest")
    invited = await _invite(core, world, guest.email)
    async with _db(core).transaction() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.member_id == uuid.UUID(invited["id"]))
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
    refused = await core.call("POST", ACCEPT, guest, {"token": invited["invitation"]["token"]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (410, "invitation_expired")
    assert world.ids["a"]["workspace"] not in refused.text
    assert await core.ok("GET", "/api/workspaces", guest) == []


async def test_a_link_works_once(core: Core) -> None:
    world = await core.world()
    guest = User.new("guest")
    token = (await _invite(core, world, guest.email))["invitation"]["token"]
    await core.ok("POST", ACCEPT, guest, {"token": token})
    for who in (guest, User.new("later")):
        again = await core.call("POST", ACCEPT, who, {"token": token})
        assert (again.status_code, again.json()["error"]["code"]) == (404, "invitation_not_found")


async def test_removing_a_pending_member_or_reissuing_revokes_the_old_link(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    members = f"/api/workspaces/{a['workspace']}/members"
    removed, guest = User.new("removed"), User.new("guest")
    dropped = await _invite(core, world, removed.email)
    await core.ok("DELETE", f"{members}/{dropped['id']}", world.owner)
    gone = await core.call("POST", ACCEPT, removed, {"token": dropped["invitation"]["token"]})
    assert gone.status_code == 404

    first = await _invite(core, world, guest.email)
    second = await core.ok("POST", f"{members}/{first['id']}/invitation", world.owner)
    third = await _invite(core, world, guest.email, role="viewer")  # inviting again re-issues too
    assert third["id"] == first["id"]
    for stale in (first, second):
        assert (await core.call("POST", ACCEPT, guest, {"token": stale["invitation"]["token"]})).status_code == 404
    joined = await core.ok("POST", ACCEPT, guest, {"token": third["invitation"]["token"]})
    assert joined["role"] == "viewer"
    audit = await core.ok("GET", f"/api/workspaces/{a['workspace']}/audit", world.owner)
    reissued = [e["after"]["role"] for e in audit["items"] if e["action"] == "member.invitation_reissued"]
    assert reissued == ["viewer", "member"]


async def test_an_accepted_member_has_no_link_to_reissue(core: Core) -> None:
    world = await core.world()
    a = world.ids["a"]
    path = f"/api/workspaces/{a['workspace']}/members/{a['member_member']}/invitation"
    refused = await core.call("POST", path, world.owner)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "already_member")
    members = f"/api/workspaces/{a['workspace']}/members"
    again = await core.call("POST", members, world.owner, {"email": world.member.email})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_member")


async def test_a_link_reaches_only_its_own_workspace(core: Core) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    guest = User.new("guest")
    from_b = await _invite(core, world, guest.email, tenant="b")
    foreign = f"/api/workspaces/{a['workspace']}/members/{from_b['id']}/invitation"
    assert (await core.call("POST", foreign, world.owner)).status_code == 404
    joined = await core.ok("POST", ACCEPT, guest, {"token": from_b["invitation"]["token"]})
    assert joined["id"] == b["workspace"]
    assert (await core.call("GET", f"/api/workspaces/{a['workspace']}", guest)).status_code == 404
    assert [w["id"] for w in await core.ok("GET", "/api/workspaces", guest)] == [b["workspace"]]


async def test_accepting_needs_a_signed_in_person_not_a_key(core: Core) -> None:
    world = await core.world()
    guest = User.new("guest")
    token = (await _invite(core, world, guest.email))["invitation"]["token"]
    assert (await core.call("POST", ACCEPT, None, {"token": token})).status_code == 401
    keyed = await core.call("POST", ACCEPT, guest, {"token": token}, key=uuid.UUID(world.ids["a"]["workspace"]))
    assert keyed.status_code == 403
    for bad in ({"token": ""}, {"token": "x" * 200}, {}):
        assert (await core.call("POST", ACCEPT, guest, bad)).status_code == 422
    unknown = await core.call("POST", ACCEPT, guest, {"token": "awi_" + "A" * 43})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "invitation_not_found")
