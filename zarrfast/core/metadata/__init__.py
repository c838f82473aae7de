"""zarrfast.core.metadata."""
