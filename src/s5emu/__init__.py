"""System Five emulator: reference schema, demo data, appointment editor, Today's Tasks.

Imports nothing from s5sync: it stands in for the store's real System Five database.
"""
