"""Lighthouse on the board: the web app as `make dev` serves it (built, precompressed, by the gateway), a
signed-in owner's board with a few cards, measured by Lighthouse's mobile preset (its default: a mid-range phone,
simulated slow 4G and CPU slowdown) in Debian's Chromium. Lighthouse comes from npm (bench/lighthouse/, installed
on first use with `npm ci`); the web app is built first when dist/ is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
from agentworks_localstack.dev_process import dev_fleet
from agentworks_localstack.fleet import FLEET, free_port_offset

from bench.common import row

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "lighthouse"
WEB = ROOT / "services" / "gateway" / "web"
CHROMIUM = os.environ.get("AW_CHROMIUM", "/usr/bin/chromium")
SCORE_BUDGET = 90
CARDS = 24


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"the lighthouse part needs {name} on the PATH")
    return found


def _lighthouse() -> Path:
    cli = HERE / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        subprocess.run([_tool("npm"), "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True)
    return cli


def _built() -> None:
    if not (WEB / "dist" / "index.html").exists():
        subprocess.run([_tool("npm"), "run", "--silent", "build"], cwd=WEB, check=True)


def _board(gateway: str) -> tuple[str, str]:
    """A signed-in owner's board with cards in several lanes: its URL and the session's Cookie header."""
    with httpx.Client(base_url=gateway, headers={"origin": gateway}, timeout=60) as client:
        account = {"email": "lighthouse@example.com", "password": "correct horse battery"}
        client.post("/api/auth/signup", json=account).raise_for_status()
        workspace = client.post("/api/workspaces", json={"name": "Lighthouse"}).raise_for_status().json()
        project = client.post(f"/api/workspaces/{workspace['id']}/projects", json={"name": "Shop"}).raise_for_status()
        board_id = project.json()["board_id"]
        lanes = client.get(f"/api/boards/{board_id}").raise_for_status().json()["lanes"]
        quiet = [lane for lane in lanes if lane["number"] in (4, 8)]  # lanes without agents: no runs start
        for n in range(CARDS):
            lane = quiet[n % len(quiet)]["id"]
            body = {"title": f"Card {n + 1}: checkout step", "lane_id": lane}
            client.post(f"/api/projects/{project.json()['id']}/cards", json=body).raise_for_status()
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        url = f"{gateway}/w/{workspace['id']}/p/{project.json()['id']}/board"
    return url, cookie


def _measure(cli: Path, url: str, cookie: str, work: Path) -> dict[str, Any]:
    report = work / "lighthouse.json"
    command = [
        _tool("node"), str(cli), url, "--quiet", "--only-categories=performance", "--output=json",
        f"--output-path={report}", f"--extra-headers={json.dumps({'Cookie': cookie})}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run --disable-background-networking",
    ]  # fmt: skip
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=600)
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def run() -> list[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"the lighthouse part needs Debian's chromium at {CHROMIUM} (make browser-tools)")
    cli = _lighthouse()
    _built()
    work = Path(tempfile.mkdtemp(prefix="aw-bench-lighthouse-"))
    offset = free_port_offset()
    gateway = f"http://127.0.0.1:{FLEET[0].port + offset}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "AW_GATEWAY_ALLOWED_ORIGINS": json.dumps([gateway])}
    with dev_fleet(work, offset, env):
        url, cookie = _board(gateway)
        report = _measure(cli, url, cookie, work)
    shutil.copyfile(work / "lighthouse.json", Path(__file__).resolve().parent / "results" / "lighthouse-report.json")
    score = round(report["categories"]["performance"]["score"] * 100)
    audits = report["audits"]
    rows = [row("lighthouse mobile performance, board", score, "", f"≥ {SCORE_BUDGET}", score >= SCORE_BUDGET)]
    for audit, name in (
        ("first-contentful-paint", "first contentful paint"),
        ("largest-contentful-paint", "largest contentful paint"),
        ("total-blocking-time", "total blocking time"),
        ("speed-index", "speed index"),
    ):
        rows.append(row(f"lighthouse {name}, board", audits[audit]["numericValue"], "ms", "—"))
    shift = audits["cumulative-layout-shift"]["numericValue"]
    rows.append(row("lighthouse cumulative layout shift, board", shift, "", "—"))
    return rows
