"""HTTP ingest: the signed-batch protocol of ARCHITECTURE.md, its limits and its idempotency."""
