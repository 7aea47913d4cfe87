"""What operators see of a running gateway: Prometheus metrics, structured logs, traces."""
