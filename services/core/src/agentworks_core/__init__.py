"""AgentWorks core service."""
