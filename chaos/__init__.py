"""Chaos drills: steady state, fault, verify, rollback (rollback always runs)."""
