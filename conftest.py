"""Fixtures shared by every test directory: database backends (SQLite and PostgreSQL), the signing key, peer stubs."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from agentworks_platform.peer_stub import PeerStub
from agentworks_platform.service_auth import ensure_dev_key
from agentworks_platform.sqlite_driver import OneTripConnection
from agentworks_platform.testing import DatabaseDropper, Templates, postgres_server

if TYPE_CHECKING:
    from xdist.remote import Producer
    from xdist.scheduler.protocol import Scheduling

CONTRACTS = Path(__file__).parent / "contracts" / "openapi"
BACKENDS = tuple(os.environ.get("AW_TEST_BACKENDS", "sqlite,postgres").split(","))


class PostgresForTests:
    """The session's PostgreSQL server (found or started on first use) and the dropper of its test databases.

    Both end after the last test, outside every test's time limit: the drops still queued finish first, then a
    server started for the session stops.
    """

    def __init__(self) -> None:
        self.dropper = DatabaseDropper()
        self._server = contextlib.ExitStack()
        self._admin: str | None = None

    @property
    def admin(self) -> str:
        if self._admin is None:
            self._admin = self._server.enter_context(postgres_server())
        return self._admin

    def close(self) -> None:
        for failure in self.dropper.close():
            sys.stderr.write(f"test database left behind: {failure}\n")
        self._server.close()


POSTGRES = pytest.StashKey[PostgresForTests]()

# Modules that start a whole fleet (services on real sockets, an emulator, agentworks-dev processes, a browser).
# Under pytest-xdist (``make test``: ``-n 2 --dist loadfile``) they are one unit of work, run one after another on
# one worker, since together they would compete for the two cores, port ranges and PostgreSQL's connections; and
# they are scheduled first, being the longest unit. Every other module is a unit of its own (a module-scoped fixture
# is built once). With three workers a browser test's "Create project" click went unanswered in two runs of five
# (not yet explained), so two it is.
FLEET_MODULES = frozenset(
    {
        "tests/browser/test_conversation.py",
        "tests/browser/test_web_app.py",
        "tests/test_dev.py",
        "tests/test_fleet.py",
        "tests/test_fleet_command_kill.py",
        "tests/test_fleet_takeover.py",
        "tests/test_scale_out.py",
        "tests/test_schemathesis.py",
        "tests/test_stack.py",
    }
)


def _work_unit(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return "fleets" if module in FLEET_MODULES else module


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> Scheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FleetsTogether(LoadFileScheduling):
        """``--dist loadfile`` with the fleet modules as one file."""

        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return FleetsTogether(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the fleets first (every worker sorts alike)
        items.sort(key=lambda item: _work_unit(item.nodeid) != "fleets")


# argon2id at OWASP's cost spends ~50 ms of CPU on every sign-up and sign-in, some thousand times a run: the tests'
# gateways (in-process, and the fleets' processes, which inherit the environment) hash at the least cost instead.
# Production refuses it (GatewaySettings), and a gateway test holds production's defaults to OWASP's cost.
CHEAP_PASSWORD_HASHES = {"AW_GATEWAY_PASSWORD_HASH_TIME_COST": "1", "AW_GATEWAY_PASSWORD_HASH_MEMORY_KIB": "8"}


def pytest_configure(config: pytest.Config) -> None:
    config.stash[POSTGRES] = PostgresForTests()
    for variable, value in CHEAP_PASSWORD_HASHES.items():
        os.environ.setdefault(variable, value)
    _name_the_test_opening_each_sqlite_connection()


def _name_the_test_opening_each_sqlite_connection() -> None:
    """A SQLite connection a test leaves open is reported (a ResourceWarning naming the connection) when it is
    collected, during whichever test runs then: the connection's name says which test opened it."""
    opening = OneTripConnection.__init__

    def opened(self: OneTripConnection, *args: Any, **kwargs: Any) -> None:
        opening(self, *args, **kwargs)
        self.opened_during = os.environ.get("PYTEST_CURRENT_TEST", "no test")  # type: ignore[attr-defined]

    def name(self: OneTripConnection) -> str:
        return f"<SQLite connection opened during {getattr(self, 'opened_during', 'no test')}>"

    OneTripConnection.__init__ = opened  # type: ignore[method-assign]
    OneTripConnection.__repr__ = name  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    config.stash[POSTGRES].close()


@pytest.fixture(scope="session")
def postgres_admin(request: pytest.FixtureRequest) -> str:
    return request.config.stash[POSTGRES].admin


@pytest.fixture(scope="session")
def database_dropper(request: pytest.FixtureRequest) -> DatabaseDropper:
    return request.config.stash[POSTGRES].dropper


@pytest.fixture(scope="session")
def dev_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The development signing key every service under test shares, generated once per session: a 2048-bit
    RSA key costs 50-200 ms to generate, which a fixture per test would pay a thousand times over."""
    path = tmp_path_factory.mktemp("keys") / "dev.pem"
    ensure_dev_key(path)
    return path


@pytest.fixture(scope="session")
def dev_key(dev_key_file: Path) -> bytes:
    """The private key (PEM) in ``dev_key_file``, for signing tokens the services under test accept."""
    return dev_key_file.read_bytes()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, templates: Templates) -> Iterator[str]:
    """An empty database of the test's own on each backend: a new SQLite file, or a PostgreSQL database (one a
    finished test used, emptied)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    admin = request.getfixturevalue("postgres_admin")
    url = templates.postgres(None, admin)
    yield url
    templates.release(admin, url)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, database_dropper: DatabaseDropper) -> Iterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("templates"), database_dropper)
    yield made
    made.drop_templates()


@pytest.fixture
def migrated_database(
    backend: str,
    templates: Templates,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[Path], str]]:
    """Returns a function giving a database of the test's own with a service's migrations applied and nothing else
    (on PostgreSQL, a new copy of the migrated template or one a finished test used, put back in its state)."""
    made: list[tuple[str, str]] = []

    def make(migrations: Path) -> str:
        if backend == "sqlite":
            return templates.sqlite(migrations, tmp_path / f"{uuid.uuid4().hex}.db")
        admin = request.getfixturevalue("postgres_admin")
        url = templates.postgres(migrations, admin)
        made.append((admin, url))
        return url

    yield make
    for admin, url in made:
        templates.release(admin, url)


@pytest.fixture
def peer_stub() -> Iterator[Callable[[str], PeerStub]]:
    """Returns a function standing in a peer service by name (``"core"``) with a ``PeerStub`` held to its published
    OpenAPI document; after the test, any request or answer the document refused fails it."""
    made: list[PeerStub] = []

    def stand_in(peer: str) -> PeerStub:
        stub = PeerStub(CONTRACTS / f"{peer}.json")
        made.append(stub)
        return stub

    yield stand_in
    for stub in made:
        stub.verify()
