"""Settings of the gateway (environment prefix ``AW_GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path

from agentworks_platform.settings import ServiceSettings
from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from agentworks_gateway.identity.passwords import OWASP, HashCost

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
OPENAPI_DIR = Path(__file__).resolve().parents[4] / "contracts" / "openapi"


class GatewaySettings(ServiceSettings):
    """Configuration of the gateway: identity, the public API surface and its protections."""

    model_config = SettingsConfigDict(env_prefix="AW_GATEWAY_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "gateway"
    port: int = 8080
    core_url: str = "http://127.0.0.1:8081"
    orchestrator_url: str = "http://127.0.0.1:8082"
    log_stream_url: str = "http://127.0.0.1:8084"
    billing_url: str = "http://127.0.0.1:8085"
    provider_router_url: str = "http://127.0.0.1:8083"
    allowed_origins: tuple[str, ...] = Field(
        default=("http://localhost:8080", "http://127.0.0.1:8080"),
        description="Origins allowed to make cookie-authenticated state changes and open WebSockets.",
    )
    session_ttl_hours: int = 24 * 7
    requests_per_hour: int = 1000
    api_requests_per_minute: int = Field(
        default=500, ge=1, description="Requests a minute each API key may make to the OpenAI-compatible /v1 API."
    )
    api_tokens_per_minute: int = Field(
        default=200_000,
        ge=1,
        description="Tokens a minute each API key may use on /v1: the request's estimate, corrected by the answer.",
    )
    git_max_body_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1024 * 1024,
        description="The largest body a git request (a push's pack) may send through /git; past it the gateway "
        "answers 413 and the push lands nothing.",
    )
    signin_failures_per_account: int = 5
    signin_failures_per_address: int = 20
    signin_window_minutes: int = 15
    signups_per_address: int = Field(
        default=10, ge=1, description="Sign-up attempts (successful or not) one client address may make per window."
    )
    signup_window_minutes: int = Field(default=60, ge=1)
    password_hash_time_cost: int = Field(
        default=OWASP.time_cost, ge=1, description="argon2id passes; below OWASP's 2 only outside production."
    )
    password_hash_memory_kib: int = Field(
        default=OWASP.memory_kib,
        ge=8,
        description="argon2id memory in KiB; below OWASP's 19 MiB only outside production (the tests' cheap hashes).",
    )
    trusted_proxy_hops: int = Field(
        default=0,
        ge=0,
        le=8,
        description="Proxies in front of the gateway that each append to X-Forwarded-For (Cloud Run's front end: 1).",
    )
    credential_check_seconds: float = Field(
        default=2.0, gt=0, description="How often open WebSockets are checked for a revoked key or session."
    )
    openapi_dir: Path = Field(
        default=OPENAPI_DIR, description="The services' published OpenAPI documents, the source of the routing table."
    )
    web_dist: Path = Field(default=WEB_DIST, description="The built web app (services/gateway/web/dist).")

    @model_validator(mode="after")
    def _production_hashes_at_owasp_cost(self) -> GatewaySettings:
        cost = self.password_hash_cost
        if self.is_production and (cost.time_cost < OWASP.time_cost or cost.memory_kib < OWASP.memory_kib):
            raise ValueError(f"production hashes passwords at OWASP's cost at least ({OWASP}), not {cost}")
        return self

    @property
    def password_hash_cost(self) -> HashCost:
        return HashCost(self.password_hash_time_cost, self.password_hash_memory_kib)

    @property
    def session_cookie(self) -> str:
        """``__Host-`` requires Secure, which browsers honour only over HTTPS; dev uses a plain name."""
        return "__Host-aw_session" if self.is_production else "aw_session"
