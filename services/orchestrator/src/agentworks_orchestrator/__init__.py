"""AgentWorks orchestrator service."""
