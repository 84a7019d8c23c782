"""The gateway serves the built web app: assets by content hash, index.html for client-side routes."""

from __future__ import annotations

import gzip
from pathlib import Path

from .conftest import Fleet


def _dist(root: Path) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<!doctype html><div id="root"></div><script src="/assets/app-1a2b.js"></script>')
    (dist / "assets" / "app-1a2b.js").write_text("console.log('agentworks')")
    (dist / "favicon.svg").write_text("<svg/>")
    (root / "secret.txt").write_text("not for the web")
    return dist


async def test_pages_get_index_and_assets_are_cached_by_hash(fleet: Fleet, tmp_path: Path) -> None:
    browser = await fleet.browser(await fleet.gateway(web_dist=_dist(tmp_path)))
    for path in ("/", "/w/1/p/2/board", "/signin"):
        response = await browser.get(path)
        assert response.status_code == 200, path
        assert '<div id="root">' in response.text
        assert response.headers["cache-control"] == "no-cache"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    asset = await browser.get("/assets/app-1a2b.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert (await browser.get("/favicon.svg")).headers["cache-control"] == "no-cache"


async def test_api_paths_and_escapes_never_fall_back_to_the_app(fleet: Fleet, tmp_path: Path) -> None:
    browser = await fleet.browser(await fleet.gateway(web_dist=_dist(tmp_path)))
    api = await browser.get("/api/nonesuch")
    assert api.status_code in (401, 404)
    assert "error" in api.json()
    for service_only in ("/_events/anything", "/internal/cards/x"):
        refused = await browser.get(service_only)
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_found")
    escape = await browser.get("/..%2Fsecret.txt")
    assert "not for the web" not in escape.text
    assert (await browser.get("/healthz")).json()["status"] == "ok"


async def test_an_unbuilt_app_says_how_to_build_it(fleet: Fleet, tmp_path: Path) -> None:
    browser = await fleet.browser(await fleet.gateway(web_dist=tmp_path / "missing"))
    response = await browser.get("/")
    assert response.status_code == 503
    assert "make web" in response.text


def _compressed_dist(root: Path) -> tuple[Path, dict[str | None, bytes]]:
    """A build as `npm run build` writes it: a script with brotli and gzip copies, a source map beside it; the
    bytes of each copy by its content coding."""
    dist = _dist(root)
    script = b"export const board = 'lanes';\n" * 200
    copies: dict[str | None, bytes] = {None: script, "gzip": gzip.compress(script), "br": b"\x8b\x7f\x03brotli-copy"}
    (dist / "assets" / "index-9f8e.js").write_bytes(script)
    (dist / "assets" / "index-9f8e.js.br").write_bytes(copies["br"])
    (dist / "assets" / "index-9f8e.js.gz").write_bytes(copies["gzip"])
    (dist / "assets" / "index-9f8e.js.map").write_text('{"version":3,"sources":["src/secret.ts"]}')
    return dist, copies


async def test_assets_are_served_precompressed_by_accept_encoding(fleet: Fleet, tmp_path: Path) -> None:
    dist, copies = _compressed_dist(tmp_path)
    browser = await fleet.browser(await fleet.gateway(web_dist=dist))
    cases = {"br, gzip": "br", "gzip, deflate": "gzip", "gzip;q=0.5, br;q=0": "gzip", "identity": None, "*": "br"}
    for accept, coding in cases.items():
        # httpx would decode br and gzip itself; the stream's raw bytes are what crossed the wire.
        async with browser.stream("GET", "/assets/index-9f8e.js", headers={"accept-encoding": accept}) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        assert response.status_code == 200, accept
        assert response.headers.get("content-encoding") == coding, accept
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["content-type"].startswith("text/javascript"), response.headers["content-type"]
        assert "immutable" in response.headers["cache-control"]
        assert raw == copies[coding], accept
    # A file the build did not compress is sent as it is, without Vary.
    plain = await browser.get("/assets/app-1a2b.js", headers={"accept-encoding": "br"})
    assert "content-encoding" not in plain.headers
    assert "vary" not in plain.headers


async def test_source_maps_are_never_served(fleet: Fleet, tmp_path: Path) -> None:
    dist, _ = _compressed_dist(tmp_path)
    browser = await fleet.browser(await fleet.gateway(web_dist=dist))
    response = await browser.get("/assets/index-9f8e.js.map")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert "secret.ts" not in response.text
