"""The pipeline\x27s stages, grouped by what they produce."""
