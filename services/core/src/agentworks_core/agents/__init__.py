"""Agents domain of the core service."""
