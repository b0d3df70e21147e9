"""The pure core: snapshots, decisions, reasons and rules (SPEC.md R1–R13, R23).

Nothing here does I/O, reads a clock or draws randomness; tests/unit/test_architecture.py
walks the AST to keep it so. `now` and ids come in as arguments.
"""
