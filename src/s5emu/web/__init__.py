"""The System Five desk pages: the appointment editor and Today's Tasks (R13)."""

from s5emu.web.app import create_app

__all__ = ["create_app"]
