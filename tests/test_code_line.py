"""The whole production line on code, with the offline model and the fleet's own sandbox: a card moved from
Architecture through Build and Review to Test gets a branch whose commits (by the developers, each naming its run)
hold a module and its test; the developers ran the tests in the sandbox, saw them fail on a wrong assertion, fixed
it and saw them pass; the Code reviewer approves the diff; QA runs the tests in the sandbox and reports them
passing with the evidence; a member merges the branch from the API and the default branch then holds the change,
and the merge is in the card's activity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentworks_sandbox import BubblewrapSandbox

from .test_fleet import ORIGIN, Fleet, fleet  # noqa: F401 - the fleet fixture

pytestmark = [
    pytest.mark.stack,
    # Five lanes of runs, each awaited up to 240 s: on a loaded machine the line takes longer than the suite's 120 s.
    pytest.mark.timeout(900),
    pytest.mark.skipif(BubblewrapSandbox().available() is not None, reason="needs bubblewrap"),
]
TITLE = "Saved cards"
CRITERIA = ["A saved card is offered at checkout", "A customer can remove a saved card"]


@pytest.fixture(autouse=True)
def repositories_of_the_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The orchestrator keeps this test's repositories and working copies under its temporary directory."""
    monkeypatch.setenv("AW_ORCHESTRATOR_REPOS_DIR", str(tmp_path / "repos"))


class Person:
    """A member of the workspace, signed in through the gateway."""

    def __init__(self, running: Fleet) -> None:
        self.fleet = running
        self.http = httpx.Client(base_url=running.urls["gateway"], headers={"origin": ORIGIN}, timeout=60)
        signup = self.http.post(
            "/api/auth/signup", json={"email": "dev@example.com", "password": "correct horse battery"}
        )
        assert signup.status_code == 201, signup.text
        self.me = signup.json()["id"]
        workspace = self.ok("POST", "/api/workspaces", {"name": "Line"})
        self.project = self.ok("POST", f"/api/workspaces/{workspace['id']}/projects", {"name": "Shop"})
        body = {"title": TITLE, "description": "Pay in one step.", "acceptance_criteria": CRITERIA}
        self.card = self.ok("POST", f"/api/projects/{self.project['id']}/cards", body)
        self.lanes = self.ok("GET", f"/api/boards/{self.project['board_id']}")["lanes"]

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(method, path, json=body)
        assert answer.status_code in (200, 201), f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def move(self, lane: int, agents: set[str]) -> None:
        """Move the card into ``lane`` and wait until each of ``agents`` finished its run there."""
        self.ok("PUT", f"/api/cards/{self.card['id']}/move", {"lane_id": self.lanes[lane]["id"]})

        def finished() -> bool:
            done = self.statuses()
            return all(done.get(agent) in ("completed", "failed", "skipped") for agent in agents)

        self.fleet.wait(finished, seconds=240)
        assert {agent: self.statuses()[agent] for agent in agents} == dict.fromkeys(agents, "completed")

    def statuses(self) -> dict[str, str]:
        """Each agent's run on the card (every agent of this line runs once)."""
        return {run["agent"]: run["status"] for run in self.ok("GET", f"/api/cards/{self.card['id']}/runs")["runs"]}

    def comments(self, agent: str) -> list[str]:
        return [c["body"] for c in self.ok("GET", f"/api/cards/{self.card['id']}/comments") if c["agent"] == agent]


@pytest.fixture
def person(fleet: Fleet) -> Iterator[Person]:  # noqa: F811
    signed_in = Person(fleet)
    yield signed_in
    signed_in.http.close()


def test_a_card_moved_to_test_has_tested_code_on_its_branch_that_a_member_merges(person: Person) -> None:
    card = person.card["id"]
    person.move(3, {"architect"})
    person.move(4, set())
    person.move(5, {"dev_backend", "dev_frontend"})

    code = person.ok("GET", f"/api/cards/{card}/code")
    assert code["branch"].startswith("card/saved-cards-")
    assert sorted(f["path"] for f in code["files"]) == [
        ".gitignore", "saved_cards.py", "saved_cards_screen.py", "test_saved_cards.py", "test_saved_cards_screen.py",
    ]  # fmt: skip
    authors = sorted(commit["author"] for commit in code["commits"])
    assert authors == ["Backend developer", "Frontend developer"]
    assert all(commit["run_id"] for commit in code["commits"])
    assert {commit["card"] for commit in code["commits"]} == {person.card["human_id"]}  # AgentWorks-Card: SHOP-1
    assert "+CRITERIA: tuple[str, ...] = (" in code["diff"]
    commands = person.ok("GET", f"/api/cards/{card}/code/commands")
    developers = sorted((c["agent"], c["exit_code"]) for c in commands)
    # Each developer's first run failed on the wrong assertion; after the fix, the second passed.
    assert developers == [("dev_backend", 0), ("dev_backend", 1), ("dev_frontend", 0), ("dev_frontend", 1)]
    assert any("AssertionError" in c["output_tail"] for c in commands if c["exit_code"] == 1)

    person.move(6, {"reviewer"})
    [review] = person.comments("reviewer")
    assert review.startswith("Approve: 5 files change")

    person.move(7, {"qa", "troubleshooter"})
    newest = person.ok("GET", f"/api/cards/{card}/code/commands")
    qa = [c for c in newest if c["agent"] == "qa"]
    assert [(c["command"], c["exit_code"], c["timed_out"]) for c in qa] == [("python3 -m unittest -v", 0, False)]
    assert "Ran 4 tests" in qa[0]["output_tail"]
    [report] = person.comments("qa")
    assert report.startswith("Tests pass. Evidence:")
    assert "$ python3 -m unittest -v\nexit code 0" in report

    merged = person.ok("POST", f"/api/cards/{card}/code/merge")
    project = person.project["id"]
    main = person.ok("GET", f"/api/projects/{project}/repository/files", None)
    names = sorted(entry["name"] for entry in main["entries"])
    assert names == [
        ".gitignore", "README.md", "saved_cards.py", "saved_cards_screen.py", "test_saved_cards.py",
        "test_saved_cards_screen.py",
    ]  # fmt: skip
    module = person.http.get(f"/api/projects/{project}/repository/files", params={"path": "saved_cards.py"}).json()
    assert "A customer can remove a saved card" in module["content"]
    assert main["commit"] == merged["merged_sha"]
    assert person.ok("GET", f"/api/cards/{card}/code")["merged"] is True

    def merges() -> list[dict[str, Any]]:
        items = person.ok("GET", f"/api/cards/{card}/activity?limit=200")["items"]
        return [item for item in items if item["kind"] == "merged"]

    person.fleet.wait(lambda: bool(merges()), seconds=60)  # core records it from the orchestrator's code.merged
    [merge] = merges()
    assert (merge["branch"], merge["sha"], merge["actor_id"]) == (code["branch"], merged["merged_sha"], person.me)
