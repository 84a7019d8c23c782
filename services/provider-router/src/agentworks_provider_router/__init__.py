"""AgentWorks provider router service."""
