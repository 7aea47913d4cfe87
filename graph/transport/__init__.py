"""HTTP and WebSocket endpoints, GraphiQL, health and downloads."""
