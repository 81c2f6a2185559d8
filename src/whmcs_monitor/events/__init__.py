"""Events: what whmcs-monitor records, and how their payloads are cleaned first."""
