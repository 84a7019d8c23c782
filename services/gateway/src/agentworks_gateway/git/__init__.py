"""Git over HTTPS: people's git clients, authenticated by a workspace API key, relayed to the orchestrator."""
