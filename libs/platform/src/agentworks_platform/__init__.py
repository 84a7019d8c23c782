"""AgentWorks platform kit shared by every service."""
