"""Documents domain of the core service."""
