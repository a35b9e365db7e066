"""Bulog lots: pure rules (no I/O imports; checked by import-linter)."""
