"""Small framework-free helpers: duration parsing and request signing."""
