"""zarrfast.testing."""
