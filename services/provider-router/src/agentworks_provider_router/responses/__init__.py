"""``POST /v1/responses`` (the Responses API), answered by the same provider adapters as chat."""
