"""Attachments: files on a card, typed by their bytes (an allow-list), limited in size, downloaded safely, deleted
by members, and another workspace's never reached."""

from __future__ import annotations

from typing import Any

from .conftest import Core

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(20)


async def _attach(core: Core, card: str, user: Any, filename: str, data: bytes, kind: str = "text/plain") -> Any:
    return await core.call(
        "POST",
        f"/api/cards/{card}/attachments",
        user,
        content=data,
        params={"filename": filename},
        headers={"content-type": kind},
    )


async def test_files_are_typed_by_their_bytes_listed_and_downloaded_as_attachments(core: Core) -> None:
    world = await core.world()
    card = world.ids["a"]["card"]
    # The uploader calls the image text and the PDF an image: the bytes decide.
    image = await _attach(core, card, world.member, "mock-up.png", PNG, "text/plain")
    assert image.status_code == 201, image.text
    assert (image.json()["content_type"], image.json()["size"]) == ("image/png", len(PNG))
    pdf = (await _attach(core, card, world.member, "../../etc/spec sheet.pdf", PDF, "image/png")).json()
    assert (pdf["content_type"], pdf["filename"]) == ("application/pdf", "spec sheet.pdf")
    notes = (await _attach(core, card, world.member, "notes «v2».md", "Café ✓\n".encode(), "text/html")).json()
    assert notes["content_type"] == "text/plain"

    listed = await core.ok("GET", f"/api/cards/{card}/attachments", world.viewer)
    assert [a["filename"] for a in listed] == ["mock-up.png", "spec sheet.pdf", "notes «v2».md"]
    download = await core.call("GET", f"/api/cards/{card}/attachments/{notes['id']}/file", world.viewer)
    assert download.status_code == 200
    assert download.content == "Café ✓\n".encode()
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"notes _v2_.md\"; filename*=UTF-8''notes%20%C2%ABv2%C2%BB.md"
    )
    png = await core.call("GET", f"/api/cards/{card}/attachments/{image.json()['id']}/file", world.viewer)
    assert (png.content, png.headers["content-type"]) == (PNG, "image/png")


async def test_types_outside_the_allow_list_empty_files_and_large_ones_are_refused(core: Core) -> None:
    world = await core.world()
    card = world.ids["a"]["card"]
    for name, data, kind in (
        ("archive.zip", ZIP, "application/zip"),
        ("script.png", b"\x00\x01binary\xff\xfe", "image/png"),  # no signature, not text
        ("fake.txt", b"MZ\x90\x00" + bytes(60), "text/plain"),  # a Windows executable
    ):
        refused = await _attach(core, card, world.member, name, data, kind)
        assert (refused.status_code, refused.json()["error"]["code"]) == (415, "attachment_type_not_allowed"), name
    empty = await _attach(core, card, world.member, "empty.txt", b"")
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "empty_attachment")
    nameless = await _attach(core, card, world.member, "../", b"text")
    assert (nameless.status_code, nameless.json()["error"]["code"]) == (422, "invalid_filename")
    large = await _attach(core, card, world.member, "big.txt", b"a" * (2 * 1024 * 1024 + 1))
    assert (large.status_code, large.json()["error"]["code"]) == (413, "attachment_too_large")
    assert await core.ok("GET", f"/api/cards/{card}/attachments", world.member) == []


async def test_members_delete_attachments_and_another_workspace_s_are_never_reached(core: Core) -> None:
    world = await core.world()
    a, b = world.ids["a"], world.ids["b"]
    mine = (await _attach(core, a["card"], world.member, "a.txt", b"mine")).json()
    theirs = (await _attach(core, b["card"], world.stranger, "b.txt", b"theirs")).json()
    assert (await _attach(core, a["card"], world.viewer, "v.txt", b"no")).status_code == 403
    # Another workspace's card, or its attachment under this workspace's card: 404 either way.
    assert (await core.call("GET", f"/api/cards/{b['card']}/attachments", world.member)).status_code == 404
    crossed = await core.call("GET", f"/api/cards/{a['card']}/attachments/{theirs['id']}/file", world.member)
    assert crossed.status_code == 404
    assert (
        await core.call("DELETE", f"/api/cards/{a['card']}/attachments/{theirs['id']}", world.owner)
    ).status_code == 404
    assert (
        await core.call("DELETE", f"/api/cards/{a['card']}/attachments/{mine['id']}", world.viewer)
    ).status_code == 403
    assert (
        await core.call("DELETE", f"/api/cards/{a['card']}/attachments/{mine['id']}", world.member)
    ).status_code == 204
    assert await core.ok("GET", f"/api/cards/{a['card']}/attachments", world.member) == []
    gone = await core.call("GET", f"/api/cards/{a['card']}/attachments/{mine['id']}/file", world.member)
    assert gone.status_code == 404
    still = await core.call("GET", f"/api/cards/{b['card']}/attachments/{theirs['id']}/file", world.stranger)
    assert still.content == b"theirs"
