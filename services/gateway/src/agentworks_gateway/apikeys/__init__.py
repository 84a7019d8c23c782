"""Workspace API keys."""
