"""Comments domain of the core service."""
