"""The tests' harnesses, one importable package (`from support.web_world import …`):
worlds, stacks and stories that build the product and its emulators for a test.

`pythonpath = ["tests"]` (pyproject) puts this package on the path; nothing here is a
test itself.
"""
