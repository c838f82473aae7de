"""zarrfast.storage."""
