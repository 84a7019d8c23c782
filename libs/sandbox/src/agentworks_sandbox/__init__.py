"""The sandbox port: a command run in a working copy with no network, a read-only system and limits.

``BubblewrapSandbox`` is the embedded adapter (this machine, under bubblewrap), ``CloudRunJobSandbox`` the
production one (a Cloud Run job execution per command); ``sandbox_from_settings`` picks one.
"""

from agentworks_sandbox.bubblewrap import BubblewrapSandbox
from agentworks_sandbox.cloud_run import CloudRunJobSandbox, GoogleAccessTokens, SandboxFailure
from agentworks_sandbox.factory import NoSandbox, SandboxKind, sandbox_from_settings
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
    "CloudRunJobSandbox",
    "Command",
    "CommandResult",
    "GoogleAccessTokens",
    "NoSandbox",
    "Sandbox",
    "SandboxFailure",
    "SandboxKind",
    "SandboxLimits",
    "SandboxUnavailable",
    "argv_of",
    "sandbox_from_settings",
]
