"""The compliance console: server-rendered pages at /console (issue 16)."""
