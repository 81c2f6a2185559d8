"""Demo mode: a WHMCS traffic simulator that feeds the real ingest path."""
