"""Generated contracts are committed and current (`make contracts` leaves no diff), and the internal routes hold
to their contracts: the check fails on each kind of drift."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest
from agentworks_internal_api import Answer, Command, Lookup, core
from agentworks_internal_api.core import CardOwnerOut, MembershipOut
from fastapi import APIRouter
from fastapi.routing import APIRoute

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("contracts/events", "contracts/openapi", "services/gateway/web/src/api/generated")


def test_contracts_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "infra/scripts/contracts.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"run `make contracts`:\n{result.stdout}{result.stderr}"


def _contracts_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("contracts_script", ROOT / "infra" / "scripts" / "contracts.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_check_fails_when_a_web_type_or_the_board_json_drifts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in GENERATED:
        shutil.copytree(ROOT / folder, tmp_path / folder)
    web = tmp_path / "services/gateway/web/src/api/generated"
    core = web / "openapi/core.ts"
    core.write_text(core.read_text().replace("card_type: string;", "card_type: number;", 1))
    (web / "events/retired-events.ts").write_text("export type Retired = never;\n")
    from agentworks_core.projects import service

    badge = service._badge
    monkeypatch.setattr(service, "_badge", lambda b: {k: v for k, v in badge(b).items() if k != "awaiting_approval"})

    assert _contracts_script().main(["--check", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "board JSON drift: board.lanes[0].cards[1].runs.awaiting_approval: in BoardDetail but not rendered",
        "stale: services/gateway/web/src/api/generated/events/retired-events.ts",
        "stale: services/gateway/web/src/api/generated/openapi/core.ts",
    ]


def test_every_service_publishes_its_push_endpoints_in_openapi() -> None:
    import json

    from agentworks_pubsub import load_topology

    topology = load_topology()
    for sub in topology.push_subscriptions():
        document = json.loads((ROOT / "contracts" / "openapi" / f"{sub.subscriber}.json").read_text())
        assert sub.push_path in document["paths"], (sub.subscriber, sub.push_path)
        assert "/healthz" in document["paths"]


class CardOwnerWithoutBoardOut(Answer):
    """The workspace, project and board a card belongs to."""

    workspace_id: uuid.UUID
    project_id: uuid.UUID


class CardOwnerWithLaneOut(CardOwnerOut):
    """The workspace, project and board a card belongs to."""

    lane_id: uuid.UUID


def _copy_generated(root: Path) -> None:
    for folder in GENERATED:
        shutil.copytree(ROOT / folder, root / folder)


def _route(router: APIRouter, path: str) -> APIRoute:
    return next(r for r in router.routes if isinstance(r, APIRoute) and r.path == path)


def test_the_check_fails_when_a_service_answers_an_internal_route_with_another_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy_generated(tmp_path)
    from agentworks_core.workspaces import endpoints as workspaces
    from agentworks_log_stream.history import endpoints as history

    card_owner = _route(workspaces.internal, "/internal/cards/{card_id}")
    monkeypatch.setattr(card_owner, "response_model", CardOwnerWithoutBoardOut)
    monkeypatch.setattr(_route(history.internal, "/internal/retention/prune"), "response_model", dict[str, int])

    assert _contracts_script().main(["--check", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "internal contract drift: core GET /internal/cards/{card_id}: core publishes another answer than"
        " agentworks_internal_api's CardOwnerOut (answer.properties.board_id: in CardOwnerOut but not in core's"
        " document)",
        "internal contract drift: log-stream POST /internal/retention/prune: answers no declared model",
        "stale: contracts/openapi/core.json",
        "stale: contracts/openapi/log-stream.json",
        "stale: services/gateway/web/src/api/generated/openapi/core.ts",
        "stale: services/gateway/web/src/api/generated/openapi/log-stream.ts",
    ]


def test_the_check_fails_when_a_caller_reads_an_internal_route_otherwise_than_it_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy_generated(tmp_path)
    published = tmp_path / "contracts/openapi/core.json"
    published.write_text(published.read_text().replace("a card belongs to", "a card is in", 1))
    caller = tmp_path / "services/notifier/src/agentworks_notifier/peers.py"
    caller.parent.mkdir(parents=True)
    caller.write_text(
        '"""Asks core at /internal/cards/{card_id} (a docstring may name the route)."""\n\n\n'
        "async def owner(core, card_id):\n"
        '    return (await core.request("GET", f"/internal/cards/{card_id}")).json()["workspace_id"]\n'
    )
    script = _contracts_script()
    drifted = {
        core.CARD_OWNER: Lookup("core", core.CARD_OWNER.path, CardOwnerWithLaneOut),
        core.AUDIT: Command("core", core.AUDIT.path, MembershipOut, idempotent=True),
    }
    routes = [drifted.get(r, r) for r in script.ROUTES if r is not core.BOARD_OWNER]
    unserved = Lookup("core", "/internal/cards/{card_id}/owner", CardOwnerOut)
    monkeypatch.setattr(script, "ROUTES", (*routes, unserved))

    assert script.main(["--check", "--root", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "internal contract drift: core GET /internal/boards/{board_id}: called by log-stream, but not in"
        " agentworks_internal_api",
        "internal contract drift: core GET /internal/cards/{card_id}: core publishes another answer than"
        " agentworks_internal_api's CardOwnerWithLaneOut (answer.properties.lane_id: in CardOwnerWithLaneOut but"
        " not in core's document)",
        "internal contract drift: core POST /internal/workspaces/{workspace_id}/audit: core publishes another body"
        " than agentworks_internal_api's MembershipOut (body.additionalProperties: in core's document but not in"
        " MembershipOut)",
        "internal contract drift: core GET /internal/cards/{card_id}/owner: in agentworks_internal_api, but core"
        " does not serve it",
        "untyped internal call: services/notifier/src/agentworks_notifier/peers.py:5: calls an internal route by its"
        " path; call it through agentworks_internal_api's catalogue",
        "stale: contracts/openapi/core.json",
    ]
