"""zarrfast.core."""
