"""The local fleet: which services run where in ``make dev`` and in the stack tests."""

from __future__ import annotations

import json
import os
import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
EMULATOR_PORT = 8681
GATEWAY_PORT = 8080
DEV_DIR = Path(".dev")
INSTANCE_PORT_STEP = 10
MAX_INSTANCES = 9
Instances = Mapping[str, int]
"""How many instances of each service a fleet runs (one for a service it does not name)."""


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

    def port_of(self, offset: int, instance: int = 0, instances: Instances | None = None) -> int:
        """The port instance ``instance`` (from 0) listens on: the service's own port when it runs alone; else one
        of the ports above it, its own port being the round-robin front before the instances."""
        if count_of(self, instances) == 1:
            return self.port + offset
        return self.port + offset + INSTANCE_PORT_STEP * (instance + 1)

    def env(
        self,
        offset: int,
        data_dir: Path,
        environ: Mapping[str, str],
        instance: int = 0,
        instances: Instances | None = None,
    ) -> dict[str, str]:
        """The process environment of this service (instance ``instance`` of it) in a fleet shifted by ``offset``:
        its port and peers always; its state under ``data_dir`` and the shifted origins unless ``environ`` already
        sets them. As on Cloud Run, every instance of a service answers to the service's URL (its round-robin front:
        the audience of its tokens and pushes) and calls each peer at the peer's URL."""
        prefix = self.env_prefix
        defaults = {
            f"{prefix}DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/{self.name}.db",
            f"{prefix}DEV_SIGNING_KEY_FILE": str(signing_key_path(data_dir)),
        }
        if self.name == "gateway":
            defaults[f"{prefix}ALLOWED_ORIGINS"] = json.dumps(gateway_origins(offset))
        if self.name in ("core", "log-stream", "provider-router"):
            defaults[f"{prefix}BLOBS_DIR"] = str(data_dir / "blobs")
        if self.name == "orchestrator":
            defaults[f"{prefix}REPOS_DIR"] = str(data_dir / "repos")
            defaults[f"{prefix}WORK_DIR"] = str(data_dir / "work")
            defaults[f"{prefix}GIT_PUBLIC_URL"] = f"http://localhost:{GATEWAY_PORT + offset}/git"
        wiring = {
            f"{prefix}PORT": str(self.port_of(offset, instance, instances)),
            f"{prefix}PUBLIC_URL": self.url(offset),
            **{f"{prefix}{peer.name.replace('-', '_').upper()}_URL": peer.url(offset) for peer in FLEET},
        }
        return {**defaults, **environ, **wiring}


FLEET: tuple[ServiceSpec, ...] = (
    ServiceSpec("gateway", "agentworks_gateway", GATEWAY_PORT),
    ServiceSpec("core", "agentworks_core", 8081),
    ServiceSpec("orchestrator", "agentworks_orchestrator", 8082),
    ServiceSpec("provider-router", "agentworks_provider_router", 8083),
    ServiceSpec("log-stream", "agentworks_log_stream", 8084),
    ServiceSpec("billing", "agentworks_billing", 8085),
)


def count_of(spec: ServiceSpec, instances: Instances | None) -> int:
    return (instances or {}).get(spec.name, 1)


def instance_url(spec: ServiceSpec, offset: int, instance: int = 0, instances: Instances | None = None) -> str:
    """The URL of ``spec``'s instance ``instance`` (modulo how many it has) in a fleet shifted by ``offset``."""
    return f"http://127.0.0.1:{spec.port_of(offset, instance % count_of(spec, instances), instances)}"


def fleet_ports(fleet: tuple[ServiceSpec, ...] = FLEET, instances: Instances | None = None) -> list[int]:
    """Every port a fleet at offset 0 listens on: the emulator, each service (its front when it runs several
    instances) and each instance."""
    ports = [EMULATOR_PORT, *(spec.port for spec in fleet)]
    for spec in fleet:
        if count_of(spec, instances) > 1:
            ports += [spec.port_of(0, i, instances) for i in range(count_of(spec, instances))]
    return ports


def fleet_data_dir(offset: int, root: Path = DEV_DIR) -> Path:
    """Where a fleet keeps its databases, Pub/Sub store, signing key and blobs: a fleet shifted beside the
    first one gets a directory of its own, so it never touches the first one's state or push endpoints."""
    return root if offset == 0 else root / f"offset-{offset}"


def signing_key_path(data_dir: Path) -> Path:
    return data_dir / "service-signing-key.pem"


def gateway_origins(offset: int) -> list[str]:
    """The origins the web app is served from, which the gateway accepts for cookies and WebSockets."""
    port = GATEWAY_PORT + offset
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


def base_urls(offset: int = 0, fleet: tuple[ServiceSpec, ...] = FLEET) -> dict[str, str]:
    return {spec.name: spec.url(offset) for spec in fleet}


def free_port_offset(fleet: tuple[ServiceSpec, ...] = FLEET, instances: Instances | None = None) -> int:
    """A port offset at which the emulator and every service's port are free (tests run fleets side by side).

    Every port stays below the kernel's ephemeral range: a port in it can be taken by any outgoing connection
    between this check and the service's bind."""
    ports = fleet_ports(fleet, instances)
    highest = ephemeral_ports_start() - max(ports) - 1
    for _ in range(50):
        offset = random.randrange(1000, highest, 100)
        shifted = [port + offset for port in ports]
        if not BROWSER_BLOCKED_PORTS.intersection(shifted) and all(port_free(port) for port in shifted):
            return offset
    raise RuntimeError("no free block of ports")


# The ports browsers refuse to load from (the Fetch standard's "bad ports"; Chromium answers ERR_UNSAFE_PORT): a
# fleet on one of them could not be opened in a browser.
BROWSER_BLOCKED_PORTS = frozenset(
    {1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109}
    | {110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526}
    | {530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659}
    | {4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080}
)


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
