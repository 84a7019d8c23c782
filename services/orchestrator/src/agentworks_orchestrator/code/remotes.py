"""A git remote of the project's own (a forge the platform does not run): which URLs may be connected, where they
lead, and how git reaches one. A URL a person gives makes the orchestrator open connections, so it is checked as a
server-side request: https only, no credentials in it, and every address its host resolves to public (no loopback,
private, link-local such as the metadata server, multicast or unspecified address, in any spelling); git then
reaches exactly the addresses checked, follows no redirect, speaks no other protocol and prompts for nothing."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from agentworks_platform.errors import AppError
from agentworks_repos import DEFAULT_BRANCH, GitRemote, run_git
from agentworks_repos.embedded import initialise_bare

DEFAULT_USERNAME = "x-access-token"
USERNAME = re.compile(r"[A-Za-z0-9._@+-]{1,100}")
TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")  # printable ASCII, no space: it becomes one header line
# Connecting answers within the gateway's 10 s wait for the orchestrator: a remote slower than this is refused.
RESOLVE_SECONDS = 3.0
CHECK_SECONDS = 5.0
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64 (RFC 6052) and the deprecated IPv4-compatible range carry an IPv4 address in their last 32 bits.
IPV4_CARRIERS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))


class RemoteRefusedError(AppError):
    """The remote cannot be connected: what it is or where it leads is refused, or git could not reach it."""

    status_code = 422


@dataclass(frozen=True, slots=True)
class RemoteTarget:
    """A checked remote URL and the public addresses its host resolved to (the ones git will connect to)."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]
    plain_http: bool


def checked_url(url: str, allow_loopback: bool) -> SplitResult:
    """The URL's parts when it may be connected (400 ``invalid_remote_url`` otherwise)."""
    # '=' would end the URL inside git's ``-c http.<url>.extraHeader=...`` option.
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c in "\\=" for c in url):
        raise AppError(
            "A remote's URL holds no spaces, control characters, backslashes or '='.", code="invalid_remote_url"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AppError("The remote's URL is not a valid URL.", code="invalid_remote_url") from None
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise AppError("A remote is reached over https (https://host/owner/repo.git).", code="invalid_remote_url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise AppError(
            "Put no credentials in the remote's URL; send the token in the token field.", code="invalid_remote_url"
        )
    if not parts.hostname or parts.query or parts.fragment or port == 0:
        raise AppError("A remote's URL names a host and a path, without query or fragment.", code="invalid_remote_url")
    return parts


def refusal(address: Address, allow_loopback: bool) -> str | None:
    """Why an address may not be connected to (None when it may), looking through IPv6 forms that carry IPv4."""
    address = _carried(address)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address (such as the cloud metadata server)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "an address that is not public"
    return None


def _carried(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address not in (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")) and any(
        address in network for network in IPV4_CARRIERS
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


async def resolved(url: str, allow_loopback: bool) -> RemoteTarget:
    """The URL checked and its host resolved now; 422 ``remote_address_refused`` when any address it resolves to
    is not public (loopback too, unless ``allow_loopback``), ``remote_unreachable`` when it does not resolve."""
    parts = checked_url(url, allow_loopback)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_SECONDS)
    except (OSError, TimeoutError, UnicodeError):
        raise RemoteRefusedError(
            f"The remote's host {host!r} could not be resolved.", code="remote_unreachable"
        ) from None
    addresses = sorted({str(info[4][0]).partition("%")[0] for info in infos})
    parsed = [ipaddress.ip_address(a) for a in addresses]
    for address in parsed:
        reason = refusal(address, allow_loopback)
        if reason is not None:
            raise RemoteRefusedError(
                f"The remote's host resolves to {reason}; connect a remote on the public internet.",
                code="remote_address_refused",
            )
    plain_http = parts.scheme == "http"
    if plain_http and not all(_carried(a).is_loopback for a in parsed):
        raise RemoteRefusedError("Only a remote on this machine may be reached over http.", code="invalid_remote_url")
    return RemoteTarget(url, host, port, tuple(addresses), plain_http)


def git_remote(target: RemoteTarget, username: str, token: str, timeout_seconds: float) -> GitRemote:
    """How git reaches the target: the token as HTTP Basic for its URL only, connections to the checked addresses
    only (``http.curloptResolve``, so a host that resolves elsewhere later is not followed), no redirect, no
    credential helper, and https (http only for a loopback remote allowed in development)."""
    basic = base64.b64encode(f"{username}:{token}".encode()).decode()
    config = [
        ("http.followRedirects", "false"),
        ("credential.helper", ""),
        ("http.lowSpeedLimit", "1"),
        ("http.lowSpeedTime", "60"),
    ]
    if not _is_address(target.host):  # an address in the URL is connected to as it is: nothing to pin
        pinned = ",".join(f"[{a}]" if ":" in a else a for a in target.addresses)
        config.insert(1, ("http.curloptResolve", f"{target.host}:{target.port}:{pinned}"))
    return GitRemote(
        target.url,
        f"Authorization: Basic {basic}",
        tuple(config),
        "http" if target.plain_http else "https",
        timeout_seconds,
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def heads(remote: GitRemote, token: str) -> set[str]:
    """The remote's branches, asked with its credential (``git ls-remote``); 422 ``remote_auth_failed`` when the
    remote refuses the token, ``remote_unreachable`` with git's reason for anything else."""
    checking = GitRemote(remote.url, remote.auth_header, remote.config, remote.protocols, CHECK_SECONDS)
    listed = await run_git("ls-remote", "--heads", remote.url, remote=checking, check=False)
    if listed.exit_code == 0:
        return {line.split("\t", 1)[1].removeprefix("refs/heads/") for line in listed.text.splitlines() if "\t" in line}
    reason = reason_of(listed.stderr.decode("utf-8", errors="replace"), token)
    if any(sign in reason for sign in ("401", "403", "Authentication failed", "could not read Username")):
        raise RemoteRefusedError(
            f"The remote refused the token; give one that may read and push the repository (git: {reason}).",
            code="remote_auth_failed",
        )
    raise RemoteRefusedError(f"The remote could not be reached: {reason}", code="remote_unreachable")


def reason_of(stderr: str, token: str) -> str:
    """Git's own explanation of a failure, one line, the token never in it."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = next((line for line in lines if line.startswith("fatal:")), lines[-1] if lines else "git failed")
    return fatal.removeprefix("fatal:").strip().replace(token, "<token>")[:300]


async def start_default_branch(remote: GitRemote, scratch: Path) -> None:
    """Give an empty remote the default branch the platform works on (a README commit), pushed without force."""
    bare = scratch / "start.git"
    await run_git("init", "--quiet", "--bare", f"--initial-branch={DEFAULT_BRANCH}", str(bare))
    await initialise_bare(bare)
    quick = GitRemote(remote.url, remote.auth_header, remote.config, remote.protocols, CHECK_SECONDS)
    await run_git(
        "push", "--quiet", remote.url, f"{DEFAULT_BRANCH}:refs/heads/{DEFAULT_BRANCH}", cwd=bare, remote=quick
    )
