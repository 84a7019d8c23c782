"""Cards domain of the core service."""
