"""Which providers run: those with a key in the secrets port, plus the offline provider."""

from __future__ import annotations

from agentworks_secrets import SecretSource

from agentworks_provider_router.config import ProviderRouterSettings
from agentworks_provider_router.providers.base import Provider
from agentworks_provider_router.providers.offline import OfflineProvider

SECRET_NAMES = {
    "openai": "openai-api-key",
    "anthropic": "anthropic-api-key",
    "google": "google-api-key",
    "nano-banana": "google-api-key",
}


async def build_providers(settings: ProviderRouterSettings, secrets: SecretSource) -> dict[str, Provider]:
    """The offline provider and each provider with a key. A provider's SDK is imported only when it has one: the
    three SDKs take ~2 s of CPU to import, which every instance's cold start would pay."""
    timeout = settings.call_timeout_seconds
    providers: dict[str, Provider] = {"offline": OfflineProvider(settings.offline_token_delay)}
    if key := await secrets.get(SECRET_NAMES["openai"]):
        from agentworks_provider_router.providers.openai_provider import OpenAIProvider

        providers["openai"] = OpenAIProvider(key, settings.openai_base_url, timeout)
    if key := await secrets.get(SECRET_NAMES["anthropic"]):
        from agentworks_provider_router.providers.anthropic_provider import AnthropicProvider

        providers["anthropic"] = AnthropicProvider(key, settings.anthropic_base_url, timeout)
    if key := await secrets.get(SECRET_NAMES["google"]):
        from agentworks_provider_router.providers.google_provider import GeminiProvider

        providers["google"] = GeminiProvider(key, settings.google_base_url, timeout, "google")
        providers["nano-banana"] = GeminiProvider(key, settings.google_base_url, timeout, "nano-banana")
    return providers
