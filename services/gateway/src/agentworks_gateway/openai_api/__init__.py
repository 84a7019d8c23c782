"""The OpenAI-compatible API served to workspace API keys at ``/v1``."""
