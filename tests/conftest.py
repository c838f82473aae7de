"""Shared test fixtures and the hypothesis profiles.

Profiles: ``ci`` (default) keeps property tests bounded; select another with
``HYPOTHESIS_PROFILE=dev pytest ...``.  Tests that pass their own ``@settings`` keep them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,  # CI runs must be reproducible; use the dev/thorough profiles to explore
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    """A fresh, not yet existing directory for a filesystem store."""
    return str(tmp_path / "store.zarr")
