"""Shared pytest configuration: hypothesis profiles and Numba warm-up."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# dev: quick local runs; ci: more examples, derandomized so CI is reproducible.
settings.register_profile(
    "dev", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
