"""Hypothesis profiles for every property test.

`ci` (the default) keeps the whole suite fast on a 2-core CI machine; `long` is for a
night run: `S5SYNC_HYPOTHESIS_PROFILE=long uv run pytest tests/property`. Neither keeps an
example database (no `.hypothesis/` left in the tree): a failure prints its example.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)
settings.register_profile(
    "long",
    max_examples=5000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("S5SYNC_HYPOTHESIS_PROFILE", "ci"))
