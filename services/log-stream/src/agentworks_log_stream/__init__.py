"""AgentWorks log stream service."""
