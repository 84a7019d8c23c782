"""The usage ledger: metering and run charges from usage-events, budgets and cost-spike alerts."""
