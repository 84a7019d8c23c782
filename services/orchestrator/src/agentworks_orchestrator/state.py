"""What the orchestrator holds for its lifetime, and the dependency its endpoints read it through."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Annotated

import httpx
from agentworks_blobs import GcsBlobs
from agentworks_platform.app import ServiceContext, context_of, state_of
from agentworks_pubsub import Outbox
from agentworks_repos import LocalRepositoryHost, RepositoryHost, SecureSourceManagerHost
from agentworks_sandbox import CloudRunJobSandbox, GoogleAccessTokens, Sandbox, sandbox_from_settings
from agentworks_secrets import EnvSecrets, SecretManagerSecrets, SecretSource
from fastapi import Depends
from starlette.requests import HTTPConnection

from agentworks_orchestrator.code.service import CodeContext
from agentworks_orchestrator.config import OrchestratorSettings
from agentworks_orchestrator.runs.service import RunService


@dataclass(frozen=True, slots=True)
class OrchestratorState:
    """The outbox runs publish through, the run service that starts, executes and controls them, and the host of
    the projects' repositories with the code service over them, and the sandbox agents' commands run in."""

    outbox: Outbox
    runs: RunService
    repos: RepositoryHost
    code: CodeContext
    sandbox: Sandbox


def repository_host_from_settings(settings: OrchestratorSettings) -> RepositoryHost:
    """The repository host the settings name (``repos_backend``)."""
    if settings.repos_backend == "ssm":
        return SecureSourceManagerHost(settings.gcp_project, settings.ssm_location, settings.ssm_instance)
    return LocalRepositoryHost(settings.repos_dir, max_push_bytes=settings.git_max_push_bytes)


def secrets_from_settings(settings: OrchestratorSettings) -> SecretSource:
    """Where connected remotes' tokens are kept (``secrets_backend``)."""
    if settings.secrets_backend == "secret-manager":
        return SecretManagerSecrets(settings.gcp_project)
    return EnvSecrets(None, settings.written_secrets_dir)


def sandbox_from_orchestrator_settings(settings: OrchestratorSettings, stack: AsyncExitStack) -> Sandbox:
    """The sandbox the settings name (``sandbox``); the job's HTTP client closes with ``stack``."""

    def cloud_run_job() -> Sandbox:
        http = httpx.AsyncClient(timeout=30.0)
        stack.push_async_callback(http.aclose)
        return CloudRunJobSandbox(
            project=settings.gcp_project,
            location=settings.sandbox_region,
            job=settings.sandbox_job,
            blobs=GcsBlobs(settings.sandbox_bucket),
            http=http,
            tokens=GoogleAccessTokens(),
        )

    return sandbox_from_settings(settings.sandbox, cloud_run_job)


def sandbox_of(connection: HTTPConnection) -> Sandbox:
    return state_of(context_of(connection), OrchestratorState).sandbox


SandboxDep = Annotated[Sandbox, Depends(sandbox_of)]


def run_service_of(ctx: ServiceContext) -> RunService:
    return state_of(ctx, OrchestratorState).runs


def run_service(connection: HTTPConnection) -> RunService:
    return run_service_of(context_of(connection))


RunServiceDep = Annotated[RunService, Depends(run_service)]


def repository_host(connection: HTTPConnection) -> RepositoryHost:
    return state_of(context_of(connection), OrchestratorState).repos


RepositoryHostDep = Annotated[RepositoryHost, Depends(repository_host)]


def code_of(ctx: ServiceContext) -> CodeContext:
    return state_of(ctx, OrchestratorState).code


def code_context(connection: HTTPConnection) -> CodeContext:
    return state_of(context_of(connection), OrchestratorState).code


CodeDep = Annotated[CodeContext, Depends(code_context)]
