"""Every service package keeps the module contract of docs/design.md §10, read from its source with `ast`.

Endpoints parse, authorize, call their service and answer a schema; a service is module-level functions that
never commit; every query is a repository's; event handlers live in handlers.py. A module that breaks a rule
is named with the line and what it does there, so the fix is obvious from the failure alone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("gateway", "core")

# What builds a statement: only a repository imports these.
STATEMENT_BUILDERS = frozenset({"select", "insert", "update", "delete", "text", "exists", "union", "union_all"})
# What runs a statement on a session or a connection.
STATEMENT_RUNNERS = frozenset({"execute", "exec_driver_sql", "scalar", "scalars", "stream", "stream_scalars"})
# What ends or opens a transaction or a savepoint: the request's or the message's dependency does that.
TRANSACTION_CONTROL = frozenset({"commit", "rollback", "begin", "begin_nested"})

# Documented exceptions (design §10), each as (service, module path under the package, why).
QUERIES_OUTSIDE_REPOSITORIES: dict[tuple[str, str], str] = {
    ("core", "models.py"): "a board's revision is bumped in the session's before_commit hook, beside the tables",
}
OWN_TRANSACTIONS: dict[tuple[str, str], str] = {}
SERVICE_COMPONENTS: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Module:
    """One Python module of a service package: where it is and its syntax tree."""

    service: str
    path: str
    tree: ast.Module

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


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


def query_findings(module: Module) -> Iterator[str]:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            builders = sorted(alias.name for alias in node.names if alias.name in STATEMENT_BUILDERS)
            if builders:
                yield f"line {node.lineno}: imports {', '.join(builders)} from {node.module}"
        if isinstance(node, ast.keyword) and node.arg == "with_for_update":
            yield f"line {node.value.lineno}: locks rows (with_for_update)"
    for call in method_calls(module.tree, STATEMENT_RUNNERS):
        if is_session_like(call):
            yield f"line {call.lineno}: runs a statement ({ast.unparse(call.func)})"
    for call in method_calls(module.tree, frozenset({"with_for_update"})):
        yield f"line {call.lineno}: locks rows ({ast.unparse(call.func)})"


def violations(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{path}: {finding}" for path, findings in found.items() for finding in findings)


@pytest.mark.parametrize("service", SERVICES)
def test_every_query_is_a_repositorys(service: str) -> None:
    """Statements are built and run, and rows locked, only in a domain's repository.py."""
    found = {
        module.path: findings
        for module in modules(service)
        if module.name != "repository.py" and (service, module.path) not in QUERIES_OUTSIDE_REPOSITORIES
        if (findings := list(query_findings(module)))
    }
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
        if (service, module.path) in OWN_TRANSACTIONS:
            continue
        components = [
            node
            for node in ast.walk(module.tree)
            if isinstance(node, ast.ClassDef) and (service, module.path, node.name) in SERVICE_COMPONENTS
        ]
        inside = {id(call) for component in components for call in method_calls(component, TRANSACTION_CONTROL)}
        findings = [
            f"line {call.lineno}: controls a transaction ({ast.unparse(call.func)})"
            for call in method_calls(module.tree, TRANSACTION_CONTROL)
            if id(call) not in inside and not is_a_repositorys_savepoint(module, call)
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


def receivers(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "PushReceiver":
            yield node


def handler_maps(call: ast.Call) -> Iterator[ast.expr]:
    yield from call.args[3:4]
    yield from (keyword.value for keyword in call.keywords if keyword.arg in {"handlers", "workers"})


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
    """The receiver's map of event handlers (or workers) comes from a domain's handlers.py."""
    found: dict[str, list[str]] = {}
    for module in modules(service):
        sources = handler_sources(module.tree)
        for call in receivers(module.tree):
            for handler_map in handler_maps(call):
                name = ast.unparse(handler_map.func if isinstance(handler_map, ast.Call) else handler_map)
                if not sources.get(name, "").endswith(".handlers"):
                    found.setdefault(module.path, []).append(f"line {call.lineno}: {name} is not from a handlers.py")
    assert not found, f"event handlers live in handlers.py:\n{violations(found)}"
