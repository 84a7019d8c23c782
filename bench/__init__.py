"""AgentWorks benchmarks (`make bench`): figures a user can rerun, printed next to their budgets."""
