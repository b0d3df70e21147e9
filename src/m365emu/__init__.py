"""Microsoft 365 emulator: identity platform and Graph calendar API. Imports nothing from s5sync."""
