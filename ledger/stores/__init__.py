"""Stores: one chained, sealed store (the base), what both clinical stores share, the main
store and the sealed psychotherapy-note store."""
