"""Keys: key-encryption keys, the per-subject data-key ring and the checkpoint signing key."""
