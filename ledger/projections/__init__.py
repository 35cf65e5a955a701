"""Read models that follow a store's notification log with tracking."""
