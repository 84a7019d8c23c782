"""Project repositories: card branches, their code, diffs and merges, and git over HTTP."""
