"""Projects domain of the core service."""
