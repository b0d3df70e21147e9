"""Hypothesis profiles for every property test.

`ci` (the default) keeps the whole suite fast on a 2-core CI machine; `long` is for a
night run: `S5SYNC_HYPOTHESIS_PROFILE=long uv run pytest tests/property`. Neither keeps an
example database (no `.hypothesis/` left in the tree): a failure prints its example.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# The reliability machine's rules assert as they step (issue 18 moved it out of its test
# module into tests/support): pytest's assertion rewriting still explains their failures.
pytest.register_assert_rewrite("support.reliability_machine")

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
