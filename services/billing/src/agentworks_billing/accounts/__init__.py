"""Billing accounts: each workspace's pricing plan and budgets."""
