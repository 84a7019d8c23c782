"""A card's activity: one timeline of what the platform already records about it."""
