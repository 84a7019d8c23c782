"""The AgentWorks local stack: Pub/Sub emulator, topology bootstrap and the dev supervisor."""
