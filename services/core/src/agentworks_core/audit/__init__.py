"""Audit domain of the core service."""
