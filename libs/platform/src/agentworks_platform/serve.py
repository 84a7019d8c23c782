"""``agentworks-service``: how a container runs a service (``serve``) or its migrations (``migrate``).

The service is named on the command line or by ``$AGENTWORKS_SERVICE`` (set by each image).

Cloud Run sets ``$PORT``; ``serve`` listens on it on every interface, stops gracefully on SIGTERM within
Cloud Run's ten-second notice, and never rewrites the client's address from forwarding headers (anyone can
send those; the gateway reads them itself, trusting only the hops its deployment adds). ``migrate`` applies
the service's Alembic migrations to the database its settings name (``AW_<SERVICE>_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType

import uvicorn

from agentworks_platform.migrations import upgrade
from agentworks_platform.settings import ServiceSettings

DEFAULT_PORT = 8080
GRACEFUL_SHUTDOWN_SECONDS = 8
SERVICE_ENV = "AGENTWORKS_SERVICE"
STARTUP_FAILURE = 3  # uvicorn's exit status when the application fails to start


def package_of(service: str) -> str:
    """``provider-router`` or ``agentworks_provider_router`` → ``agentworks_provider_router``."""
    name = service.strip().replace("-", "_")
    package = name if name.startswith("agentworks_") else f"agentworks_{name}"
    if not package.isidentifier():
        raise SystemExit(f"not an AgentWorks service: {service!r}")
    return package


def _module(package: str, name: str) -> ModuleType:
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as exc:
        raise SystemExit(f"{package} has no module {name!r}: {exc}") from exc


def settings_class(package: str) -> type[ServiceSettings]:
    """The service's own settings class, the one ``<package>.config`` defines."""
    config = _module(package, "config")
    for _, value in inspect.getmembers(config, inspect.isclass):
        if issubclass(value, ServiceSettings) and value.__module__ == config.__name__:
            return value
    raise SystemExit(f"{package}.config defines no ServiceSettings")


def settings_of(package: str) -> ServiceSettings:
    """The service's settings, read from the environment."""
    return settings_class(package)()


def listen_port(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    raw = environ.get("PORT", str(DEFAULT_PORT))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"PORT must be a TCP port number, not {raw!r}")
    return int(raw)


# Terminal frames go to many sockets at once; compressing each frame for each socket separately costs more CPU
# than the bandwidth it saves (with it, 1,000 watchers of one run waited 50 ms longer at the 99th percentile).
WEBSOCKET_COMPRESSION = False

# asyncio's own loop, never uvloop: uvloop forks a child process with the whole interpreter (Python's at-fork hooks
# run and libuv's loop is rebuilt in the child before exec), which in a service of many threads now and then crashes
# the child before it runs git or bwrap: a command reported killed by SIGSEGV that never ran, or a git that fails.
# asyncio spawns through ``subprocess`` (vfork, then exec; nothing else runs in the child).
EVENT_LOOP = "asyncio"


def uvicorn_flags() -> list[str]:
    """The options every way of running a service shares, as uvicorn command-line flags (dev fleet, bench)."""
    compression = str(WEBSOCKET_COMPRESSION).lower()
    return ["--no-access-log", "--no-proxy-headers", "--ws-per-message-deflate", compression, "--loop", EVENT_LOOP]


def server_config(package: str) -> uvicorn.Config:
    """How a container serves: on ``$PORT`` on every interface, behind Cloud Run's front end."""
    return uvicorn.Config(
        f"{package}.app:create_app",
        factory=True,
        host="0.0.0.0",  # noqa: S104 - a container's port is reachable only through Cloud Run's front end
        port=listen_port(),
        proxy_headers=False,  # X-Forwarded-* are client-written; see agentworks_gateway.security.client_ip
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
        ws_per_message_deflate=WEBSOCKET_COMPRESSION,
        loop=EVENT_LOOP,
    )


def serve(package: str) -> None:
    _module(package, "app")
    server = uvicorn.Server(server_config(package))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def migrate(package: str) -> None:
    settings = settings_of(package)
    migrations: Path = _module(package, "models").MIGRATIONS
    upgrade(migrations, settings.database_url)
    sys.stdout.write(f"{settings.service_name}: migrations applied\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agentworks-service", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("serve", "run the service's HTTP server on $PORT"), ("migrate", "apply migrations")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "service",
            nargs="?",
            default=os.environ.get(SERVICE_ENV),
            help=f"the service, e.g. core or provider-router (default: ${SERVICE_ENV}, which each image sets)",
        )
    args = parser.parse_args(argv)
    if not args.service:
        parser.error(f"name the service or set {SERVICE_ENV}")
    package = package_of(args.service)
    if args.command == "serve":
        serve(package)
    else:
        migrate(package)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
