"""An orchestrator killed while a developer's command runs in the sandbox, on the fleet as ``make dev`` runs it:
each service a process of its own, commands under bubblewrap.

The project's repository holds a test module that waits for a file named ``release`` in the working copy, so each
``python3 -m unittest -v`` the offline developer runs lasts until the test lets it go. The developer's first run
(failing on its wrong assertion) is let go; during the second, after the fix, the orchestrator's process is killed
outright. Its sandbox (bwrap, the command's shell and Python) dies with it, leaving no process behind. The
supervisor starts the orchestrator again, the redelivered request takes the run over once the dead executor's
lease has lapsed, and the second attempt runs the command again on a working copy holding the checkpointed steps'
files, then commits. The branch has the run's one commit (one ``AgentWorks-Call``), the command the kill cut off is
not recorded, and billing charged the run once, for every provider call.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from agentworks_localstack.dev_process import DevFleet, running_dev_fleet
from agentworks_localstack.fleet import free_port_offset, gateway_origins
from agentworks_repos import git_env
from agentworks_sandbox import BubblewrapSandbox

pytestmark = [
    pytest.mark.stack,
    pytest.mark.timeout(900),
    pytest.mark.skipif(BubblewrapSandbox().available() is not None, reason="needs bubblewrap"),
]

# A lapsed lease is what lets the redelivered request take the run over; the default 30 s would only make it later.
LEASE_SECONDS = "10"
STARTUP_SECONDS = 300.0  # six processes and the emulator on two busy cores
WAIT_SECONDS = 300.0
PASSWORD = "correct horse battery"
TEST_COMMAND = "python3 -m unittest -v"  # what the offline developer runs
GIT = shutil.which("git") or "git"
IDENTITY = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
PROC = Path("/proc")
Found = TypeVar("Found")
# Holds every test run in the working copy until the file ``release`` appears beside it: ``waiting`` says it is
# held. Both are removed before it passes (``waiting`` first), so nothing of the gate is left to commit.
GATE = '''"""Holds the test run until the file release appears in the working copy."""

import time
import unittest
from pathlib import Path

WAITING = Path("waiting")
RELEASE = Path("release")


class Gate(unittest.TestCase):
    def test_released(self) -> None:
        WAITING.touch()
        while not RELEASE.exists():
            time.sleep(0.05)
        WAITING.unlink()
        RELEASE.unlink()
'''


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevFleet]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY")}
    env.update(AW_ORCHESTRATOR_LEASE_SECONDS=LEASE_SECONDS)
    with running_dev_fleet(
        tmp_path_factory.mktemp("fleet"), free_port_offset(), env, startup_seconds=STARTUP_SECONDS
    ) as running:
        yield running


def wait(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the fleet did not get there in time"
        time.sleep(0.1)


def wait_for(find: Callable[[], list[Found]], seconds: float = WAIT_SECONDS) -> list[Found]:
    """What ``find`` finds, once it finds anything."""
    found: list[Found] = []

    def any_found() -> bool:
        found[:] = find()
        return bool(found)

    wait(any_found, seconds)
    return found


def rows(fleet: DevFleet, service: str, query: str, *parameters: Any) -> list[Any]:
    """A query on a service's SQLite database (WAL: read beside the service's own writes)."""
    with contextlib.closing(sqlite3.connect(fleet.data_dir / f"{service}.db", timeout=30)) as database:
        return database.execute(query, parameters).fetchall()


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [GIT, *args], cwd=cwd, env=git_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Member:
    """The project's owner: signed in through the gateway, with an API key for git."""

    http: httpx.Client
    project: str
    card: str
    git_url: str

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        answer = self.http.request(method, path, json=body)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()


@pytest.fixture
def member(fleet: DevFleet, tmp_path: Path) -> Iterator[Member]:
    origin = gateway_origins(fleet.offset)[0]
    with httpx.Client(base_url=fleet.gateway, headers={"origin": origin}, timeout=60) as http:
        signup = http.post("/api/auth/signup", json={"email": "killed@example.com", "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        workspace = http.post("/api/workspaces", json={"name": "Killed"}).json()["id"]
        project = http.post(f"/api/workspaces/{workspace}/projects", json={"name": "Shop"}).json()["id"]
        body = {"title": "Saved cards", "acceptance_criteria": ["A saved card is offered at checkout"]}
        card = http.post(f"/api/projects/{project}/cards", json=body).json()["id"]
        key = http.post(f"/api/workspaces/{workspace}/api-keys", json={"name": "laptop"}).json()["key"]
        url = f"{fleet.gateway.replace('http://', f'http://x:{key}@')}/git/{project}.git"
        yield Member(http, project, card, url)


def push_gate(member: Member, scratch: Path) -> None:
    """Put the gate on the default branch, from which the card's branch starts."""
    work = scratch / "gate"
    git("clone", "--quiet", member.git_url, str(work))
    (work / "test_gate.py").write_text(GATE)
    git("add", "test_gate.py", cwd=work)
    git(*IDENTITY, "commit", "--quiet", "-m", "Add a gate the tests wait at", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)


class Gate:
    """The gate of one attempt's working copy (``<run>-<attempt>`` under the fleet's work directory)."""

    def __init__(self, fleet: DevFleet, run_id: uuid.UUID, attempt: int) -> None:
        self.root = fleet.data_dir / "work" / f"{run_id}-{attempt}"

    @property
    def held(self) -> bool:
        return (self.root / "waiting").exists()

    def release(self) -> bool:
        """Let a held test run go on; False when none is held. ``release`` is looked at before ``waiting``: the
        gate removes ``waiting`` first, so a run that has just gone on is never released twice."""
        if (self.root / "release").exists() or not self.held:
            return False
        (self.root / "release").touch()
        return True


@dataclass(frozen=True, slots=True)
class Process:
    """A process as the kernel names it: its pid and its start time (a pid is reused, the pair is not)."""

    pid: int
    started: int

    @property
    def alive(self) -> bool:
        """Still running: present and not a zombie waiting to be reaped."""
        fields = _stat(self.pid)
        return fields is not None and int(fields[19]) == self.started and fields[0] != "Z"


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command's name (state first), None once it is gone."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _arguments(pid: int) -> list[str]:
    try:
        return (PROC / str(pid) / "cmdline").read_text().split("\0")
    except OSError:
        return []


def descendants(root: int) -> list[Process]:
    """Every live process under ``root``."""
    parents: dict[int, list[Process]] = {}
    for entry in PROC.iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(Process(int(entry.name), int(fields[19])))
    found, queue = [], [root]
    while queue:
        children = parents.get(queue.pop(), [])
        found += children
        queue += [child.pid for child in children]
    return found


def sandbox_of(fleet: DevFleet, gate: Gate) -> list[Process]:
    """The running sandbox of the working copy: the orchestrator's bwrap bound to it and everything under it."""
    orchestrator = fleet.service_pid("orchestrator")
    assert orchestrator is not None
    bound = str(gate.root.resolve())
    for process in descendants(orchestrator):
        arguments = _arguments(process.pid)
        if arguments and Path(arguments[0]).name == "bwrap" and bound in arguments:
            return [process, *descendants(process.pid)]
    return []


def running_command(fleet: DevFleet, gate: Gate) -> list[Process]:
    """The sandbox of the working copy once the test command runs in it (empty until then)."""
    tree = sandbox_of(fleet, gate)
    return tree if any(TEST_COMMAND in " ".join(_arguments(process.pid)) for process in tree) else []


def commands(member: Member) -> list[tuple[str, int, str]]:
    listed = member.ok("GET", f"/api/cards/{member.card}/code/commands")
    return [(command["command"], command["exit_code"], command["run_id"]) for command in listed]


def test_an_orchestrator_killed_during_a_command_resumes_it_without_a_second_commit(
    fleet: DevFleet, member: Member, tmp_path: Path
) -> None:
    push_gate(member, tmp_path)
    run_id = uuid.UUID(member.ok("POST", f"/api/cards/{member.card}/agents/dev_backend/run", {}, 202)["run_id"])
    first = Gate(fleet, run_id, 1)

    wait(first.release)  # the first test run, failing on the developer's wrong assertion
    wait(lambda: len(commands(member)) == 1)
    sandbox = wait_for(lambda: running_command(fleet, first) if first.held else [])  # the second, after the fix
    killed = fleet.kill("orchestrator")
    [(status, attempt)] = rows(fleet, "orchestrator", "SELECT status, attempt FROM runs WHERE id = ?", run_id.hex)
    assert (status, attempt) == ("running", 1), "the kill came after the run's end"
    wait(lambda: not any(process.alive for process in sandbox), seconds=60)  # nothing of it outlives the kill

    second = Gate(fleet, run_id, 2)

    def released_until_finished() -> bool:
        second.release()
        return finished(fleet, run_id)

    wait(released_until_finished)
    assert fleet.service_pid("orchestrator") not in (None, killed)
    assert not first.root.exists()  # the dead executor's working copy: removed by the attempt that took over
    [(status, attempt, calls)] = rows(
        fleet, "orchestrator", "SELECT status, attempt, provider_calls FROM runs WHERE id = ?", run_id.hex
    )
    assert (status, attempt) == ("completed", 2)
    # The command the kill cut off is not recorded; the second attempt's, on the fixed test, passed.
    assert sorted(commands(member)) == [(TEST_COMMAND, 0, str(run_id)), (TEST_COMMAND, 1, str(run_id))]
    assert_one_commit(member, run_id, tmp_path)
    [(steps,)] = rows(fleet, "orchestrator", "SELECT count(*) FROM run_checkpoints WHERE run_id = ?", run_id.hex)
    assert_charged_once(fleet, run_id, steps, calls)


def finished(fleet: DevFleet, run_id: uuid.UUID) -> bool:
    found = rows(fleet, "orchestrator", "SELECT status FROM runs WHERE id = ?", run_id.hex)
    return bool(found) and found[0][0] in ("completed", "failed", "cancelled")


def assert_one_commit(member: Member, run_id: uuid.UUID, scratch: Path) -> None:
    """The card's branch has the run's one commit over the default branch, its call's trailer once; the gate's
    files are not in it."""
    code = member.ok("GET", f"/api/cards/{member.card}/code")
    work = scratch / "branch"
    git("clone", "--quiet", "--branch", code["branch"], member.git_url, str(work))
    trailers = "%(trailers:key=AgentWorks-Run,valueonly,separator=%x2C)|%(trailers:key=AgentWorks-Call,valueonly)"
    log = git("log", f"--format=%an|{trailers}", "origin/main..HEAD", cwd=work).splitlines()
    assert [line.split("|") for line in log if line] == [["Backend developer", str(run_id), _call_of(log)]]
    assert [commit["run_id"] for commit in code["commits"]] == [str(run_id)]
    assert {"waiting", "release"}.isdisjoint(git("ls-files", cwd=work).split())


def _call_of(log: list[str]) -> str:
    """The call trailer of the log's first commit (one value: a step and a call id)."""
    call = log[0].rsplit("|", 1)[1]
    assert call.count("/") == 1, call
    return call


def assert_charged_once(fleet: DevFleet, run_id: uuid.UUID, steps: int, calls: int) -> None:
    """One charge, for every call the router recorded for the run: one per step, and the call of the step the kill
    cut off (made, its command never finished, and made again by the second attempt)."""

    def recorded() -> list[str]:
        return [r[0] for r in rows(fleet, "billing", "SELECT outcome FROM usage_records WHERE run_id = ?", run_id.hex)]

    def charged() -> list[Any]:
        return rows(fleet, "billing", "SELECT provider_calls, run_status FROM run_charges WHERE run_id = ?", run_id.hex)

    wait(lambda: bool(charged()) and len(recorded()) == charged()[0][0])
    assert charged() == [(calls, "completed")]
    assert recorded() == ["success"] * (steps + 1)
    assert calls == steps + 1
    settled = rows(fleet, "orchestrator", "SELECT 1 FROM outbox WHERE event_type = 'usage.run_settled'")
    assert len(settled) == 1
    assert len(rows(fleet, "billing", "SELECT 1 FROM inbox WHERE event_type = 'usage.run_settled'")) == 1
