"""Settings of the orchestrator (environment prefix ``AW_ORCHESTRATOR_``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from agentworks_platform.settings import ServiceSettings
from agentworks_repos import DEFAULT_MAX_PUSH_BYTES
from agentworks_sandbox import SandboxKind, SandboxLimits
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict

TOOL_ROLES = frozenset(
    {
        "ceo_copilot",
        "strategy",
        "prd",
        "designer",
        "architect",
        "dev_backend",
        "dev_frontend",
        "reviewer",
        "qa",
        "troubleshooter",
    }
)


class RunLimits(BaseModel):
    """What one tool-using run may take before it stops at a limit (checked before every model call)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_steps: int = Field(default=12, ge=1, description="Model calls (steps) of one run.")
    max_tokens: int = Field(default=400_000, ge=1, description="Input plus output tokens over the run's calls.")
    max_seconds: float = Field(default=900.0, gt=0, description="Wall time of the run's steps, over its attempts.")
    max_cost: Decimal = Field(default=Decimal(5), gt=0, description="Provider cost in USD of the run's calls.")


class CommandLimits(BaseModel):
    """What one command an agent runs in the sandbox may take (``run_command``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    timeout_seconds: float = Field(default=300.0, gt=0, description="Wall time before the command is stopped.")
    memory_mb: int = Field(default=2048, ge=64, description="Address space of the command's processes.")
    processes: int = Field(default=256, ge=8, description="Processes and threads the command may have at once.")
    output_kb: int = Field(default=64, ge=1, description="The tail of the output that is kept.")

    def sandbox_limits(self) -> SandboxLimits:
        return SandboxLimits(
            timeout_seconds=self.timeout_seconds,
            memory_bytes=self.memory_mb << 20,
            processes=self.processes,
            output_bytes=self.output_kb << 10,
        )


class OrchestratorSettings(ServiceSettings):
    """Configuration of the orchestrator."""

    model_config = SettingsConfigDict(env_prefix="AW_ORCHESTRATOR_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "orchestrator"
    port: int = 8082
    core_url: str = "http://127.0.0.1:8081"
    provider_router_url: str = "http://127.0.0.1:8083"
    billing_url: str = "http://127.0.0.1:8085"
    runs_per_hour: int = Field(default=100, ge=1, description="Agent runs a workspace may start per hour.")
    lease_seconds: float = Field(default=30.0, gt=0, description="A running attempt renews its lease this often.")
    log_batch_seconds: float = Field(default=0.1, gt=0)
    log_batch_lines: int = Field(default=20, ge=1)
    max_output_tokens: int = 4096
    tool_roles: frozenset[str] = Field(
        default=TOOL_ROLES,
        description="Agents that run as tool-using loops; the others (and any agent whose model cannot call tools) "
        "answer once with the JSON block contract.",
    )
    run_limits: RunLimits = RunLimits()
    role_limits: dict[str, RunLimits] = Field(default_factory=dict, description="Limits of particular agents.")
    image_model: str = Field(default="gemini-2.5-flash-image", description="The Designer's generate_image model.")
    cancel_poll_seconds: float = Field(default=0.5, gt=0, description="How often a running tool checks for cancel.")
    repos_backend: Literal["embedded", "ssm"] = Field(
        default="embedded",
        description="Where project repositories live: bare repositories under repos_dir, or Secure Source Manager "
        "(ssm_instance in ssm_location of gcp_project).",
    )
    repos_dir: Path = Field(default=Path(".dev/repos"), description="The embedded host's bare repositories.")
    ssm_instance: str = Field(
        default="", description="Secure Source Manager instance id (repos_backend=ssm), in gcp_project."
    )
    ssm_location: str = Field(default="europe-west1", description="Region of the Secure Source Manager instance.")
    git_public_url: str = Field(
        default="http://localhost:8080/git", description="The gateway's git base URL, shown as the clone URL."
    )
    git_max_push_bytes: int = Field(
        default=DEFAULT_MAX_PUSH_BYTES,
        ge=1024 * 1024,
        description="The largest pack a push to the embedded host may send (receive.maxInputSize); a larger one is "
        "refused while it arrives and lands nothing.",
    )
    secrets_backend: Literal["env", "secret-manager"] = Field(
        default="env",
        description="Where connected remotes' tokens are kept: files under secrets_dir, or Secret Manager of "
        "gcp_project.",
    )
    secrets_dir: Path | None = Field(
        default=None, description="The env backend's written secrets (the repos_dir's sibling secrets/)."
    )
    remote_allow_loopback: bool = Field(
        default=False,
        description="Development and tests only: a connected remote may be on this machine (loopback), over http. "
        "Refused in production.",
    )
    remote_timeout_seconds: float = Field(
        default=600.0, gt=0, description="How long one git command on a connected remote may take."
    )

    sandbox: SandboxKind = Field(
        default="bubblewrap",
        description="Where agents' commands run: bubblewrap on this machine (disabled, with the reason, when it "
        "cannot), cloud-run-job (one execution of sandbox_job each), or none (the command tool is disabled).",
    )
    sandbox_job: str = Field(
        default="", description="The sandbox Cloud Run job (sandbox=cloud-run-job), in gcp_project."
    )
    sandbox_region: str = Field(default="europe-west1", description="Region of the sandbox Cloud Run job.")
    sandbox_bucket: str = Field(default="", description="The bucket working copies travel through to the job.")

    @model_validator(mode="after")
    def _sandbox_job_named(self) -> OrchestratorSettings:
        if self.sandbox == "cloud-run-job" and not (self.sandbox_job and self.sandbox_bucket):
            raise ValueError("sandbox=cloud-run-job needs sandbox_job and sandbox_bucket")
        return self

    @model_validator(mode="after")
    def _repository_host_is_complete(self) -> OrchestratorSettings:
        if self.repos_backend == "ssm" and not self.ssm_instance:
            raise ValueError("repos_backend=ssm needs ssm_instance")
        return self

    @model_validator(mode="after")
    def _remotes_reach_no_loopback_in_production(self) -> OrchestratorSettings:
        if self.remote_allow_loopback and self.is_production:
            raise ValueError("remote_allow_loopback is for development and tests, never production")
        return self

    command_limits: CommandLimits = CommandLimits()
    work_dir: Path | None = Field(
        default=None, description="Where each run attempt's working copy is cloned (the repos_dir's sibling work/)."
    )

    @property
    def working_copies_dir(self) -> Path:
        return self.work_dir or self.repos_dir.parent / "work"

    @property
    def written_secrets_dir(self) -> Path:
        return self.secrets_dir or self.repos_dir.parent / "secrets"

    def limits_of(self, agent: str) -> RunLimits:
        return self.role_limits.get(agent, self.run_limits)
