"""Retention: state rules as data, the dates they give a client, holds and the purge."""
