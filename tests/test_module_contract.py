"""Every service package keeps the module contract of docs/design.md §10, read from its source with `ast`.

Endpoints parse, authorize, call their service and answer a schema; a service is module-level functions that
never commit; every query is a repository's; event handlers live in handlers.py. A module that breaks a rule
is named with the line and what it does there, so the fix is obvious from the failure alone.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = tuple(sorted(path.parent.name for path in (ROOT / "services").glob("*/src")))

# What builds a statement (called by its name imported from sqlalchemy): only a repository does.
STATEMENT_BUILDERS = frozenset({"select", "insert", "update", "delete", "text", "exists", "union", "union_all"})
# Keywords of a table definition whose value is SQL text, not a statement.
SCHEMA_KEYWORDS = frozenset({"server_default", "server_onupdate", "sqlite_where", "postgresql_where"})
# What runs a statement on a session or a connection.
STATEMENT_RUNNERS = frozenset({"execute", "exec_driver_sql", "scalar", "scalars", "stream", "stream_scalars"})
# What ends or opens a transaction or a savepoint: the request's or the message's dependency does that.
TRANSACTION_CONTROL = frozenset({"commit", "rollback", "begin", "begin_nested"})

# The documented exceptions of design §10: (service, module under the package, function or class) and why.
QUERIES_OUTSIDE_REPOSITORIES: dict[tuple[str, str, str], str] = {
    ("core", "models.py", "_bump_revisions"): "a board's revision is bumped in the session's before_commit hook",
    ("log-stream", "terminal/fanout.py", "Fanout.listen"): "LISTEN on a dedicated psycopg connection, no session",
    ("log-stream", "terminal/fanout.py", "Fanout._probe"): "the listening connection's liveness probe",
}
SERVICE_COMPONENTS: dict[tuple[str, str, str], str] = {
    ("orchestrator", "runs/service.py", "RunService"): "runs each event's runs in transactions of its own",
}
ROUTERS_OUTSIDE_ENDPOINTS: dict[tuple[str, str, str], str] = {
    ("gateway", "proxy.py", "<module>"): "relays the services' published public routes, which it does not declare",
    ("gateway", "web.py", "<module>"): "serves the built web app's files",
    ("gateway", "websockets_relay.py", "<module>"): "relays WebSockets to the service that publishes the route",
}
RULES_BESIDE_ROUTES: dict[tuple[str, str, str], str] = {
    ("gateway", "openai_api/endpoints.py", "CustomerApi"): "the /v1 relay's route table and key limits",
    ("gateway", "openai_api/endpoints.py", "_forward"): "relays the router's answer as it streams",
    ("gateway", "openai_api/endpoints.py", "_Settlement"): "settles a relayed answer's token estimate",
    ("gateway", "openai_api/endpoints.py", "_UsageScanner"): "reads usage out of a relayed stream",
    ("log-stream", "terminal/endpoints.py", "Ordered"): "a terminal's order of lines over its socket",
    ("log-stream", "terminal/endpoints.py", "Cursors"): "where a terminal is in each run's streams",
    ("orchestrator", "runs/endpoints.py", "_answer"): "streams a console run's text as the service makes it",
}


@dataclass(frozen=True)
class Module:
    """One Python module of a service package: where it is, its syntax tree and each node's enclosing scope."""

    service: str
    path: str
    tree: ast.Module

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @functools.cached_property
    def scopes(self) -> dict[int, str]:
        """The dotted name of the class or function around each node (``<module>`` at the top level)."""
        found: dict[int, str] = {}

        def visit(node: ast.AST, scope: str) -> None:
            for child in ast.iter_child_nodes(node):
                inner = scope
                if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    inner = child.name if scope == "<module>" else f"{scope}.{child.name}"
                found[id(child)] = inner
                visit(child, inner)

        visit(self.tree, "<module>")
        return found

    def scope_of(self, node: ast.AST) -> str:
        return self.scopes[id(node)]

    def allowed(self, node: ast.AST, allow_list: dict[tuple[str, str, str], str]) -> bool:
        """Whether the node lies in a function or class the allow-list names (a class covers its methods)."""
        scope = self.scope_of(node)
        names = {scope, scope.split(".", 1)[0]}
        return any((self.service, self.path, name) in allow_list for name in names)


def package_of(service: str) -> Path:
    (package,) = (ROOT / "services" / service / "src").glob("agentworks_*")
    return package


def modules(service: str) -> Iterator[Module]:
    package = package_of(service)
    for path in sorted(package.rglob("*.py")):
        yield Module(service, path.relative_to(package).as_posix(), ast.parse(path.read_text(), str(path)))


def receiver_text(call: ast.Call) -> str:
    assert isinstance(call.func, ast.Attribute)
    return ast.unparse(call.func.value)


def method_calls(tree: ast.AST, methods: frozenset[str]) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in methods:
            yield node


def is_session_like(call: ast.Call) -> bool:
    receiver = receiver_text(call).lower()
    return "session" in receiver or "connection" in receiver or receiver in {"conn", "db"}


def sqlalchemy_builders(tree: ast.AST) -> set[str]:
    """The local names of statement builders imported from sqlalchemy (``insert as pg_insert`` counts)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
        if alias.name in STATEMENT_BUILDERS
    }


def schema_expressions(tree: ast.AST) -> set[int]:
    """The expressions a table definition passes as SQL (a partial index's predicate, a server default)."""
    return {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.keyword) and node.arg in SCHEMA_KEYWORDS}


def query_nodes(module: Module) -> Iterator[tuple[ast.AST, str]]:
    builders = sqlalchemy_builders(module.tree)
    schema = schema_expressions(module.tree)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in builders:
            if id(node) in schema:
                continue
            yield node, f"builds a statement ({node.func.id}(…))"
        if isinstance(node, ast.keyword) and node.arg == "with_for_update":
            yield node.value, "locks rows (with_for_update)"
    for call in method_calls(module.tree, STATEMENT_RUNNERS):
        if is_session_like(call):
            yield call, f"runs a statement ({ast.unparse(call.func)})"
    for call in method_calls(module.tree, frozenset({"with_for_update"})):
        yield call, f"locks rows ({ast.unparse(call.func)})"


def violations(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{path}: {finding}" for path, findings in found.items() for finding in findings)


def described(module: Module, node: ast.AST, what: str) -> str:
    return f"line {getattr(node, 'lineno', '?')} in {module.scope_of(node)}: {what}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_query_is_a_repositorys(service: str) -> None:
    """Statements are built and run, and rows locked, only in a domain's repository.py."""
    found: dict[str, list[str]] = {}
    for module in modules(service):
        if module.name == "repository.py":
            continue
        findings = [
            described(module, node, what)
            for node, what in query_nodes(module)
            if not module.allowed(node, QUERIES_OUTSIDE_REPOSITORIES)
        ]
        if findings:
            found[module.path] = findings
    assert not found, f"move these into a repository function named for what it answers:\n{violations(found)}"


def is_a_repositorys_savepoint(module: Module, call: ast.Call) -> bool:
    """A repository may take locks inside a savepoint and release or roll back that savepoint, nothing more."""
    if module.name != "repository.py":
        return False
    assert isinstance(call.func, ast.Attribute)
    return call.func.attr == "begin_nested" or not is_session_like(call)


@pytest.mark.parametrize("service", SERVICES)
def test_only_components_run_their_own_transactions(service: str) -> None:
    """Nothing commits, rolls back or opens a transaction but a component that runs its own (on the state)."""
    found: dict[str, list[str]] = {}
    for module in modules(service):
        findings = [
            described(module, call, f"controls a transaction ({ast.unparse(call.func)})")
            for call in method_calls(module.tree, TRANSACTION_CONTROL)
            if not module.allowed(call, SERVICE_COMPONENTS) and not is_a_repositorys_savepoint(module, call)
        ]
        if findings:
            found[module.path] = findings
    assert not found, f"the request's or the message's transaction commits:\n{violations(found)}"


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def session_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and ast.unparse(node.func.value) == "session"
        ):
            yield node


@pytest.mark.parametrize("service", SERVICES)
def test_endpoints_call_their_service(service: str) -> None:
    """An endpoint reaches no table itself: it imports no models or repository and only hands the session on."""
    package = package_of(service).name
    found: dict[str, list[str]] = {}
    for module in modules(service):
        if module.name != "endpoints.py":
            continue
        findings = [
            f"line {line}: imports {name}"
            for line, name in imported_modules(module.tree)
            if name == f"{package}.models" or name.endswith(".repository")
        ]
        findings += [
            f"line {call.lineno}: uses the session ({ast.unparse(call.func)})" for call in session_calls(module.tree)
        ]
        if findings:
            found[module.path] = findings
    assert not found, f"endpoints call their domain's service:\n{violations(found)}"


def has_async_methods(node: ast.ClassDef) -> bool:
    return any(isinstance(item, ast.AsyncFunctionDef) for item in node.body)


def takes_the_session_later(function: ast.AsyncFunctionDef) -> bool:
    """True when the session is a parameter but not the first (a function asking only a peer takes none)."""
    parameters = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    sessions = [
        i
        for i, parameter in enumerate(parameters)
        if ast.unparse(parameter.annotation or ast.Constant(None)) == "AsyncSession"
    ]
    return bool(sessions) and sessions[0] != 0


@pytest.mark.parametrize("service", SERVICES)
def test_services_are_module_functions_taking_the_session_first(service: str) -> None:
    """A domain's service.py holds async functions taking the session first; classes there are values only."""
    found: dict[str, list[str]] = {}
    for module in modules(service):
        if module.name != "service.py":
            continue
        findings = [
            f"line {node.lineno}: class {node.name} has async methods (make them module functions)"
            for node in module.tree.body
            if isinstance(node, ast.ClassDef) and has_async_methods(node)
            if (service, module.path, node.name) not in SERVICE_COMPONENTS
        ]
        findings += [
            f"line {node.lineno}: {node.name} takes the session, but not first"
            for node in module.tree.body
            if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith("_")
            if takes_the_session_later(node)
        ]
        if findings:
            found[module.path] = findings
    assert not found, f"a service is module functions taking the session first:\n{violations(found)}"


# Each consumer of events, the position of its handler (or map of handlers) and the keywords that pass one.
CONSUMERS = {"PushReceiver": (3, {"handlers", "workers"}), "PullConsumer": (2, {"handler"})}


def receivers(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in CONSUMERS:
            yield node


def handler_maps(call: ast.Call) -> Iterator[ast.expr]:
    position, keywords = CONSUMERS[ast.unparse(call.func)]
    yield from call.args[position : position + 1]
    yield from (keyword.value for keyword in call.keywords if keyword.arg in keywords)


def handler_sources(tree: ast.Module) -> dict[str, str]:
    """Each name the module imports, and the module it comes from."""
    return {
        alias.asname or alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


@pytest.mark.parametrize("service", SERVICES)
def test_event_handlers_live_in_handlers_modules(service: str) -> None:
    """A push receiver's map of event handlers (or workers), or a pull consumer's handler, is a handlers.py's."""
    found: dict[str, list[str]] = {}
    for module in modules(service):
        sources = handler_sources(module.tree)
        for call in receivers(module.tree):
            for handler_map in handler_maps(call):
                name = ast.unparse(handler_map.func if isinstance(handler_map, ast.Call) else handler_map)
                if not sources.get(name, "").endswith(".handlers"):
                    found.setdefault(module.path, []).append(f"line {call.lineno}: {name} is not from a handlers.py")
    assert not found, f"event handlers live in handlers.py:\n{violations(found)}"


def app_state_uses(module: Module) -> Iterator[str]:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and ast.unparse(node.value).endswith("app.state"):
            yield described(module, node, f"keeps or reads {ast.unparse(node)} (untyped)")


@pytest.mark.parametrize("service", SERVICES)
def test_state_is_read_typed(service: str) -> None:
    """What a service holds for its lifetime is on its typed state (``ctx.state``), never on ``app.state``."""
    found = {module.path: findings for module in modules(service) if (findings := list(app_state_uses(module)))}
    assert not found, f"keep it on the service's <Svc>State and read it through state.py:\n{violations(found)}"


def schema_classes(tree: ast.Module) -> Iterator[ast.ClassDef]:
    """Pydantic models: classes built on one from pydantic, from a schemas module, or on another such class."""
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] in {"pydantic", "schemas"}
        for alias in node.names
    }
    schemas: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and {ast.unparse(base) for base in node.bases} & (imported | schemas):
            schemas.add(node.name)
            yield node


@pytest.mark.parametrize("service", SERVICES)
def test_schemas_live_in_schemas_modules(service: str) -> None:
    """What a client sends and what an endpoint answers are declared in a schemas.py, not beside the routes."""
    found: dict[str, list[str]] = {}
    for module in modules(service):
        if module.name == "endpoints.py" and (classes := list(schema_classes(module.tree))):
            found[module.path] = [described(module, node, f"declares {node.name}") for node in classes]
    assert not found, f"move these into the domain's schemas.py:\n{violations(found)}"


def rules_beside_routes(module: Module) -> Iterator[tuple[ast.AST, str]]:
    """Classes and generators in an endpoints.py: an answer built over a stream or across calls is a rule."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ClassDef):
            yield node, f"declares class {node.name}"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            isinstance(inner, ast.Yield | ast.YieldFrom) for inner in ast.walk(node)
        ):
            yield node, f"{node.name} is a generator"


@pytest.mark.parametrize("service", SERVICES)
def test_endpoints_hold_no_rules_of_their_own(service: str) -> None:
    """An endpoints.py declares no class and no generator: how an answer is gathered or streamed is its
    domain's service's (a class or generator of an allow-listed name stays where it is)."""
    found = {
        module.path: findings
        for module in modules(service)
        if module.name == "endpoints.py"
        if (
            findings := [
                described(module, node, what)
                for node, what in rules_beside_routes(module)
                if not module.allowed(node, RULES_BESIDE_ROUTES)
            ]
        )
    }
    assert not found, f"move these into the domain's service.py:\n{violations(found)}"


def routers(module: Module) -> Iterator[ast.Call]:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "APIRouter":
            yield node


@pytest.mark.parametrize("service", SERVICES)
def test_routes_live_in_endpoints_modules(service: str) -> None:
    """A router is made in a domain's endpoints.py, so every rule above that reads endpoints sees every route."""
    found = {
        module.path: findings
        for module in modules(service)
        if module.name != "endpoints.py"
        if (
            findings := [
                described(module, call, "makes an APIRouter")
                for call in routers(module)
                if not module.allowed(call, ROUTERS_OUTSIDE_ENDPOINTS)
            ]
        )
    }
    assert not found, f"move these routes into the domain's endpoints.py:\n{violations(found)}"


def test_every_allowed_exception_still_exists() -> None:
    """An allow-list entry names a function or class its module still defines, so none outlives its reason."""
    listed = {**QUERIES_OUTSIDE_REPOSITORIES, **SERVICE_COMPONENTS, **ROUTERS_OUTSIDE_ENDPOINTS, **RULES_BESIDE_ROUTES}
    defined = {
        (module.service, module.path, scope)
        for service in SERVICES
        for module in modules(service)
        for scope in module.scopes.values()
    }
    assert not [entry for entry in listed if entry not in defined]


SAMPLE = """
from pydantic import BaseModel
from sqlalchemy import select, text


class ThingOut(BaseModel):
    id: int


async def chunks(things):
    for thing in things:
        yield thing


async def rule(session, thing_id):
    row = await session.scalar(select(Thing).where(Thing.id == thing_id).with_for_update())
    await session.execute(text("SELECT 1"))
    await session.commit()
    return row
"""


def test_the_rules_name_what_breaks_them() -> None:
    """The checks find a built and run statement, a lock, a commit and a model beside the routes in a sample."""
    module = Module("sample", "things/endpoints.py", ast.parse(SAMPLE))
    assert sorted(what for _node, what in query_nodes(module)) == [
        "builds a statement (select(…))",
        "builds a statement (text(…))",
        "locks rows (select(Thing).where(Thing.id == thing_id).with_for_update)",
        "runs a statement (session.execute)",
        "runs a statement (session.scalar)",
    ]
    assert [ast.unparse(call.func) for call in method_calls(module.tree, TRANSACTION_CONTROL)] == ["session.commit"]
    assert [node.name for node in schema_classes(module.tree)] == ["ThingOut"]
    assert [what for _node, what in rules_beside_routes(module)] == ["declares class ThingOut", "chunks is a generator"]
    assert [module.scope_of(node) for node, _what in query_nodes(module)] == ["rule"] * 5
