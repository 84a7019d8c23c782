"""The local fleet: which services run where in ``make dev`` and in the stack tests."""

from __future__ import annotations

import os
import random
import socket
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
EMULATOR_PORT = 8681
DEV_DIR = Path(".dev")


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service of the fleet: its name, Python package and fixed local port."""

    name: str
    package: str
    port: int

    @property
    def env_prefix(self) -> str:
        return "AW_" + self.name.replace("-", "_").upper() + "_"

    @property
    def migrations(self) -> Path:
        return REPO_ROOT / "services" / self.name / "migrations"

    def url(self, offset: int = 0, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port + offset}"

    def database_url(self, dev_dir: Path = DEV_DIR) -> str:
        return os.environ.get(f"{self.env_prefix}DATABASE_URL") or f"sqlite+aiosqlite:///{dev_dir}/{self.name}.db"


FLEET: tuple[ServiceSpec, ...] = (
    ServiceSpec("gateway", "agentworks_gateway", 8080),
    ServiceSpec("core", "agentworks_core", 8081),
    ServiceSpec("orchestrator", "agentworks_orchestrator", 8082),
    ServiceSpec("provider-router", "agentworks_provider_router", 8083),
    ServiceSpec("log-stream", "agentworks_log_stream", 8084),
    ServiceSpec("billing", "agentworks_billing", 8085),
)


def base_urls(offset: int = 0, fleet: tuple[ServiceSpec, ...] = FLEET) -> dict[str, str]:
    return {spec.name: spec.url(offset) for spec in fleet}


def free_port_offset(fleet: tuple[ServiceSpec, ...] = FLEET) -> int:
    """A port offset at which the emulator and every service's port are free (tests run fleets side by side).

    Every port stays below the kernel's ephemeral range: a port in it can be taken by any outgoing connection
    between this check and the service's bind."""
    ports = [EMULATOR_PORT, *(spec.port for spec in fleet)]
    highest = ephemeral_ports_start() - max(ports) - 1
    for _ in range(50):
        offset = random.randrange(1000, highest, 100)
        if all(port_free(port + offset) for port in ports):
            return offset
    raise RuntimeError("no free block of ports")


def ephemeral_ports_start(range_file: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    """The first port the kernel hands to outgoing connections (Linux's default when it cannot be read)."""
    try:
        return int(range_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_free(port: int) -> bool:
    """Nothing listens on the port, and a server could bind it as uvicorn does (``SO_REUSEADDR``)."""
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
