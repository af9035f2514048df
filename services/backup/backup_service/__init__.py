"""Scheduled, verified PostgreSQL backups: dump, manifest, restore test, rotation, off-box copy."""
