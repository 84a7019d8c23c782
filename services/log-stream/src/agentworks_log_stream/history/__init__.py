"""A run's stored history for people: its log lines (paged or as NDJSON) and a tool-using run's transcript."""
