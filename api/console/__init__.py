"""The compliance console (issue 16)."""
