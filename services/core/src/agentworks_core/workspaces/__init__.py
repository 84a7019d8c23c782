"""Workspaces domain of the core service."""
