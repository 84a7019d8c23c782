"""AgentWorks gateway service."""
