"""Integrity: chain verification, known heads, the stored Merkle tree, signed checkpoints
and evidence bundles."""
