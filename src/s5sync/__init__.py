"""s5sync: keeps System Five tasks and Outlook 365 calendars in step (SPEC.md R1–R23)."""

__version__ = "0.1.0"
