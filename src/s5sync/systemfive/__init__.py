"""The System Five connector: named SQL over SQLAlchemy, the TaskStore adapter (R1, R4, R9–R13)."""
