"""Health and metrics: /health for load balancers and uptime monitors, /metrics for Prometheus,
and the workers' heartbeat task."""
