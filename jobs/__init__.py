"""Plain job functions (verification now; retention and checkpoints later)."""
