"""Live boards: card changes and run status relayed to every open board."""
