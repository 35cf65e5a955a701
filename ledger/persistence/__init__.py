"""Persistence: the chained recorder, the sealing mapper, tracking rows and the event log."""
