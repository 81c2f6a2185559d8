"""Alerting: rules turn events and metrics into alerts, and a pipeline of stages decides what to send."""
