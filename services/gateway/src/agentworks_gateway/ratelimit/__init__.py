"""Fixed-window rate limits shared by every gateway instance."""
