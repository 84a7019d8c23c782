"""Usage and charge queries: totals and series over a date range, and the per-run CSV export."""
