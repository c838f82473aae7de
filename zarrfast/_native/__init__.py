"""zarrfast._native."""
