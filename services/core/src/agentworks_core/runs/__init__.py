"""Agent runs as core sees them: the projection of agent-runs onto cards, documents and child cards."""
