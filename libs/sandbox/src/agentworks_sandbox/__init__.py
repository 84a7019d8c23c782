"""The sandbox port: a command run in a working copy with no network, a read-only system and limits.

``BubblewrapSandbox`` is the embedded adapter (this machine, under bubblewrap).
"""

from agentworks_sandbox.bubblewrap import BubblewrapSandbox
from agentworks_sandbox.port import (
    WORKSPACE,
    Command,
    CommandResult,
    Sandbox,
    SandboxLimits,
    SandboxUnavailable,
    argv_of,
)

__all__ = [
    "WORKSPACE",
    "BubblewrapSandbox",
    "Command",
    "CommandResult",
    "Sandbox",
    "SandboxLimits",
    "SandboxUnavailable",
    "argv_of",
]
