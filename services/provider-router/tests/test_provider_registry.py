"""Which providers run: the offline provider always, each other provider when the secrets port holds its key, and a
provider's SDK imported only then (three SDKs cost ~2 s of CPU to import on every instance's cold start)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

BUILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from agentworks_provider_router.app import create_app  # the whole service, as a process imports it
    from agentworks_provider_router.config import ProviderRouterSettings
    from agentworks_provider_router.providers.registry import build_providers

    class Secrets:
        def __init__(self, names):
            self.names = names

        async def get(self, name):
            return "sk-test" if name in self.names else None

    providers = asyncio.run(build_providers(ProviderRouterSettings(environment="test"), Secrets(sys.argv[1:])))
    sdks = [module for module in ("openai", "anthropic", "google.genai") if module in sys.modules]
    print(json.dumps({"providers": sorted(providers), "sdks": sdks}))
    """
)


def _build(*secrets: str) -> dict[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", BUILD, *secrets], capture_output=True, text=True, check=True, timeout=120
    )
    answer: dict[str, list[str]] = json.loads(result.stdout)
    return answer


def test_without_keys_only_the_offline_provider_runs_and_no_sdk_is_imported() -> None:
    assert _build() == {"providers": ["offline"], "sdks": []}


@pytest.mark.parametrize(
    ("secret", "providers", "sdk"),
    [
        ("openai-api-key", ["offline", "openai"], "openai"),
        ("anthropic-api-key", ["anthropic", "offline"], "anthropic"),
        ("google-api-key", ["google", "nano-banana", "offline"], "google.genai"),
    ],
)
def test_a_key_runs_its_provider_with_its_sdk(secret: str, providers: list[str], sdk: str) -> None:
    built = _build(secret)
    assert built["providers"] == providers
    assert sdk in built["sdks"]
