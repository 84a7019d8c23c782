"""The OpenAI-compatible model list."""
