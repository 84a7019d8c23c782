"""The authorisation matrix as data: every public route, the permission it needs, and its success status.

Roles grant permissions as in the seed: viewer = read; member = read, write, agent_run; owner = all.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Route(NamedTuple):
    method: str
    path: str
    body: Any
    permission: str
    success: int


ROLE_PERMISSIONS = {
    "viewer": {"read"},
    "member": {"read", "write", "agent_run"},
    "owner": {"read", "write", "delete", "invite", "audit", "billing", "agent_run"},
}

W = "/api/workspaces/{workspace}"
P = "/api/projects/{project}"
MATRIX: tuple[Route, ...] = (
    Route("GET", W, None, "read", 200),
    Route("PATCH", W, {"name": "Renamed"}, "delete", 200),
    Route("DELETE", W, None, "delete", 204),
    Route("GET", W + "/members", None, "read", 200),
    Route("POST", W + "/members", {"email": "new.person@example.com", "role": "member"}, "invite", 201),
    Route("PATCH", W + "/members/{viewer_member}", {"role": "member"}, "invite", 200),
    Route("DELETE", W + "/members/{viewer_member}", None, "invite", 204),
    Route("POST", W + "/members/{pending_member}/invitation", None, "invite", 201),
    Route("GET", W + "/audit", None, "audit", 200),
    Route("GET", W + "/projects", None, "read", 200),
    Route("POST", W + "/projects", {"name": "Second"}, "write", 201),
    Route("GET", P, None, "read", 200),
    Route("PATCH", P, {"name": "Renamed"}, "write", 200),
    Route("DELETE", P, None, "delete", 204),
    Route("GET", P + "/boards", None, "read", 200),
    Route("GET", "/api/boards/{board}", None, "read", 200),
    Route("PUT", "/api/boards/{board}/lanes/order", {"lane_ids": "{lanes_reversed}"}, "write", 200),
    Route("PATCH", "/api/lanes/{lane0}", {"name": "Ideas", "wip_limit": 5}, "write", 200),
    Route("POST", P + "/cards", {"title": "New card"}, "write", 201),
    Route("GET", P + "/cards", None, "read", 200),
    Route("GET", "/api/cards/{card}", None, "read", 200),
    Route("PATCH", "/api/cards/{card}", {"title": "Edited"}, "write", 200),
    Route("PUT", "/api/cards/{card}/move", {"lane_id": "{lane1}"}, "write", 200),
    Route("DELETE", "/api/cards/{card}", None, "delete", 204),
    Route("GET", W + "/cards/SHOP-1", None, "read", 200),
    Route("POST", "/api/cards/{card}/archive", None, "write", 200),
    Route("POST", "/api/cards/{card}/unarchive", None, "write", 200),
    Route("PUT", "/api/cards/{card}/labels/{label}", None, "write", 200),
    Route("DELETE", "/api/cards/{card}/labels/{label}", None, "write", 200),
    Route("GET", P + "/labels", None, "read", 200),
    Route("POST", P + "/labels", {"name": "Urgent", "color": "#FF0000"}, "write", 201),
    Route("PATCH", "/api/labels/{label}", {"color": "#00ff00"}, "write", 200),
    Route("DELETE", "/api/labels/{label}", None, "write", 204),
    Route("GET", "/api/cards/{card}/activity", None, "read", 200),
    # The body is the file: this JSON is a text file.
    Route("POST", "/api/cards/{card}/attachments?filename=notes.txt", {"note": "hello"}, "write", 201),
    Route("GET", "/api/cards/{card}/attachments", None, "read", 200),
    # The world's card has no attachment: permitted callers get past authorization to a clear 404.
    Route("GET", "/api/cards/{card}/attachments/{run}/file", None, "read", 404),
    Route("DELETE", "/api/cards/{card}/attachments/{run}", None, "write", 404),
    Route("GET", "/api/cards/{card}/children", None, "read", 200),
    Route("GET", "/api/cards/{card}/comments", None, "read", 200),
    Route("POST", "/api/cards/{card}/comments", {"body": "Looks right"}, "write", 201),
    # {comment} is the member's own comment (test_authorization makes it): its author may edit and delete it.
    Route("PATCH", "/api/cards/{card}/comments/{comment}", {"body": "Looks right now"}, "write", 200),
    Route("DELETE", "/api/cards/{card}/comments/{comment}", None, "write", 204),
    Route("GET", "/api/cards/{card}/watch", None, "read", 200),
    Route("PUT", "/api/cards/{card}/watch", None, "read", 200),
    Route("DELETE", "/api/cards/{card}/watch", None, "read", 200),
    Route("GET", W + "/notifications", None, "read", 200),
    Route("GET", W + "/notifications/unread", None, "read", 200),
    Route("POST", W + "/notifications/read", None, "read", 200),
    # {notification} is the viewer's, from the member's comment mentioning them.
    Route("POST", W + "/notifications/{notification}/read", None, "read", 200),
    Route("GET", "/api/cards/{card}/images", None, "read", 200),
    # The world's card has no image: permitted callers get past authorization to a clear 404.
    Route("GET", "/api/cards/{card}/images/{run}/file", None, "read", 404),
    Route("GET", "/api/cards/{card}/documents", None, "read", 200),
    # The world's card has no document of its own: permitted callers get past authorization to a clear 404.
    Route("GET", "/api/cards/{card}/documents/prd", None, "read", 404),
    Route("GET", "/api/cards/{card}/documents/prd/versions", None, "read", 404),
    Route("GET", "/api/cards/{card}/documents/prd/versions/1", None, "read", 404),
    Route("POST", "/api/cards/{card}/agents/prd/run", {"instructions": "focus on payments"}, "agent_run", 202),
    Route("GET", "/api/cards/{card}/runs", None, "read", 200),
    Route("POST", "/api/runs/{run}/rerun", None, "agent_run", 202),
    # The world's run is not held at a gate: permitted callers get past authorization to a clear 409.
    Route("POST", "/api/runs/{run}/approve", None, "write", 409),
    Route("POST", "/api/runs/{run}/reject", {"comment": "again"}, "agent_run", 409),
    Route("GET", P + "/agents", None, "read", 200),
    Route("PUT", P + "/agents/prd", {"provider": "anthropic", "model": "claude-3-5-sonnet"}, "write", 200),
    Route("GET", P + "/documents", None, "read", 200),
    Route("GET", P + "/documents/prd", None, "read", 200),
    Route("PUT", P + "/documents/prd", {"content": "# PRD v2"}, "write", 200),
    Route("GET", P + "/documents/prd/versions", None, "read", 200),
    Route("GET", P + "/documents/prd/versions/1", None, "read", 200),
)
"""Routes needing only a signed-in user (no tenant): the workspace list and creation, the agent and model lists."""
UNSCOPED = (
    ("GET", "/api/workspaces"),
    ("POST", "/api/workspaces"),
    ("GET", "/api/agents"),
    ("GET", "/api/models"),
)
"""Routes a signed-in user reaches with a secret instead of a membership (``test_invitations`` covers them)."""
BY_TOKEN = (("POST", "/api/invitations/accept"),)
