"""Notifications domain of the core service: each person's inbox, and who follows a card."""
