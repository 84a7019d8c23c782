"""The gateway serves the built web app: assets by content hash, index.html for client-side routes."""

from __future__ import annotations

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
