"""Trade contracts: pure rules (no I/O imports; checked by import-linter)."""
