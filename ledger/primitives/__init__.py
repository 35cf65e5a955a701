"""Primitives: the hash chain, RFC 9162 Merkle hashing and proofs, and the cryptography.

Pure functions over bytes; no I/O, no imports from the rest of the ledger."""
