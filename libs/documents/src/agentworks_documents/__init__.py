"""AgentWorks documents port and its Firestore adapter."""
