"""AgentWorks billing service."""
