"""Agent runs: planning, execution and control."""
