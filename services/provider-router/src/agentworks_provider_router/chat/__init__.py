"""The OpenAI-compatible chat and image endpoints."""
