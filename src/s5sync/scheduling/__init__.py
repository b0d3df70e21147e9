"""Schedulers: local (asyncio, in the web process) and distributed (procrastinate) — R14."""
