"""Live terminals: storage, fan-out and the WebSocket."""
