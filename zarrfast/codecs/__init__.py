"""zarrfast.codecs."""
