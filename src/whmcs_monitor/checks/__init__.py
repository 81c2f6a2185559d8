"""Health checks and heartbeats: probes run by a shared scheduler; results become metric samples
and state changes become events."""
