"""The secrets port: environment locally, and the real Secret Manager client against a gRPC stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from agentworks_localstack.grpc_util import AbortError, unary
from agentworks_secrets import EnvSecrets, SecretManagerSecrets
from google.cloud import secretmanager
from google.cloud.secretmanager_v1 import types
from google.cloud.secretmanager_v1.services.secret_manager_service.transports.grpc_asyncio import (
    SecretManagerServiceGrpcAsyncIOTransport,
)
from google.protobuf import empty_pb2


class SecretManagerFake:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.calls = 0
        self.created: set[str] = set()
        self.versions = 0

    def access(self, request: types.AccessSecretVersionRequest) -> types.AccessSecretVersionResponse:
        self.calls += 1
        name = request.name.split("/")[3]
        if name not in self.secrets:
            raise AbortError(grpc.StatusCode.NOT_FOUND, f"Secret [{name}] not found")
        return types.AccessSecretVersionResponse(
            name=request.name, payload=types.SecretPayload(data=self.secrets[name].encode())
        )

    def create(self, request: types.CreateSecretRequest) -> types.Secret:
        if request.parent != "projects/agentworks-prod" or not types.Replication.pb(
            request.secret.replication
        ).HasField("automatic"):
            raise AbortError(grpc.StatusCode.INVALID_ARGUMENT, "parent and replication are required")
        if request.secret_id in self.secrets or request.secret_id in self.created:
            raise AbortError(grpc.StatusCode.ALREADY_EXISTS, f"Secret [{request.secret_id}] already exists")
        self.created.add(request.secret_id)
        return types.Secret(name=f"{request.parent}/secrets/{request.secret_id}")

    def add_version(self, request: types.AddSecretVersionRequest) -> types.SecretVersion:
        name = request.parent.split("/")[3]
        if name not in self.secrets and name not in self.created:
            raise AbortError(grpc.StatusCode.NOT_FOUND, f"Secret [{name}] not found")
        self.secrets[name] = request.payload.data.decode()
        self.versions += 1
        return types.SecretVersion(name=f"{request.parent}/versions/{self.versions}")

    def delete(self, request: types.DeleteSecretRequest) -> empty_pb2.Empty:
        parts = request.name.split("/")
        if parts[:3] != ["projects", "agentworks-prod", "secrets"] or len(parts) != 4:
            raise AbortError(grpc.StatusCode.INVALID_ARGUMENT, "name must be projects/*/secrets/*")
        if parts[3] not in self.secrets and parts[3] not in self.created:
            raise AbortError(grpc.StatusCode.NOT_FOUND, f"Secret [{parts[3]}] not found")
        self.secrets.pop(parts[3], None)
        self.created.discard(parts[3])
        return empty_pb2.Empty()


@pytest.fixture
async def secret_manager() -> AsyncIterator[tuple[SecretManagerFake, secretmanager.SecretManagerServiceAsyncClient]]:
    fake = SecretManagerFake({"openai-api-key": "sk-from-secret-manager"})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "google.cloud.secretmanager.v1.SecretManagerService",
                {
                    "AccessSecretVersion": unary(
                        fake.access, types.AccessSecretVersionRequest, types.AccessSecretVersionResponse
                    ),
                    "CreateSecret": unary(fake.create, types.CreateSecretRequest, types.Secret),
                    "AddSecretVersion": unary(fake.add_version, types.AddSecretVersionRequest, types.SecretVersion),
                    "DeleteSecret": unary(fake.delete, types.DeleteSecretRequest, empty_pb2.Empty),
                },
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    client = secretmanager.SecretManagerServiceAsyncClient(
        transport=SecretManagerServiceGrpcAsyncIOTransport(channel=channel)
    )
    yield fake, client
    await channel.close()
    await server.stop(grace=None)


async def test_secret_manager_values_are_read_cached_and_missing_ones_are_none(
    secret_manager: tuple[SecretManagerFake, secretmanager.SecretManagerServiceAsyncClient],
) -> None:
    fake, client = secret_manager
    secrets = SecretManagerSecrets("agentworks-prod", client)
    assert await secrets.get("openai-api-key") == "sk-from-secret-manager"
    assert await secrets.get("openai-api-key") == "sk-from-secret-manager"
    assert await secrets.get("anthropic-api-key") is None
    assert fake.calls == 2


async def test_env_secrets_read_the_environment_then_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# provider keys\nANTHROPIC_API_KEY='sk-ant-from-file'\nOPENAI_API_KEY=from-file\n")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-environment")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    secrets = EnvSecrets(env_file)
    assert await secrets.get("openai-api-key") == "sk-from-environment"
    assert await secrets.get("anthropic-api-key") == "sk-ant-from-file"
    assert await secrets.get("google-api-key") is None


async def test_secret_manager_puts_make_the_secret_once_then_add_versions(
    secret_manager: tuple[SecretManagerFake, secretmanager.SecretManagerServiceAsyncClient],
) -> None:
    fake, client = secret_manager
    secrets = SecretManagerSecrets("agentworks-prod", client)
    assert await secrets.get("project-git-token") is None
    await secrets.put("project-git-token", "first")
    await secrets.put("project-git-token", "second")
    assert await secrets.get("project-git-token") == "second"
    assert (fake.created, fake.secrets["project-git-token"], fake.versions) == ({"project-git-token"}, "second", 2)
    with pytest.raises(ValueError, match="name"):
        await secrets.put("../other", "value")


async def test_env_secrets_keep_written_secrets_owner_only_in_their_store(tmp_path: Path) -> None:
    store = tmp_path / "secrets"
    secrets = EnvSecrets(None, store)
    assert await secrets.get("project-git-token") is None
    await secrets.put("project-git-token", "first")
    await secrets.put("project-git-token", "second")
    assert await EnvSecrets(None, store).get("project-git-token") == "second"
    assert (store / "project-git-token").stat().st_mode & 0o777 == 0o600
    assert [path.name for path in store.iterdir()] == ["project-git-token"]
    with pytest.raises(ValueError, match="name"):
        await secrets.put("../outside", "value")
    with pytest.raises(RuntimeError, match="read-only"):
        await EnvSecrets(None).put("project-git-token", "value")


async def test_secret_manager_deletes_a_secret_once_and_forgets_its_value(
    secret_manager: tuple[SecretManagerFake, secretmanager.SecretManagerServiceAsyncClient],
) -> None:
    fake, client = secret_manager
    secrets = SecretManagerSecrets("agentworks-prod", client)
    await secrets.put("project-git-token", "first")
    await secrets.delete("project-git-token")
    await secrets.delete("project-git-token")  # already gone: nothing to do
    assert "project-git-token" not in fake.secrets
    assert await secrets.get("project-git-token") is None
    with pytest.raises(ValueError, match="name"):
        await secrets.delete("../other")


async def test_env_secrets_delete_a_written_secret_and_only_it(tmp_path: Path) -> None:
    store = tmp_path / "secrets"
    secrets = EnvSecrets(None, store)
    await secrets.put("project-git-token", "first")
    await secrets.put("other-token", "kept")
    await secrets.delete("project-git-token")
    await secrets.delete("project-git-token")
    assert await secrets.get("project-git-token") is None
    assert await secrets.get("other-token") == "kept"
    with pytest.raises(ValueError, match="name"):
        await secrets.delete("../outside")
