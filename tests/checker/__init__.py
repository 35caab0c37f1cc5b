"""Helpers for the checker's tests: local servers and certificates."""
