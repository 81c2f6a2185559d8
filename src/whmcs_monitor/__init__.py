"""whmcs-monitor: self-hosted monitoring and alerting for WHMCS installations."""

__version__ = "0.1.0"
