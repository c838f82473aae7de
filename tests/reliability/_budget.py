"""Budgets for the reliability suite.

``ZARRFAST_FUZZ_EXAMPLES`` (default 300) is the hypothesis ``max_examples`` of every
fuzz test here; the CI default keeps the suite around a minute on two cores.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("ZARRFAST_FUZZ_EXAMPLES", "300"))

#: Settings for every fuzz test: bounded, no deadline (CI machines stall), derandomized
#: in CI so a failure reproduces from the printed example.
fuzz_settings = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    derandomize=os.environ.get("ZARRFAST_FUZZ_RANDOM") is None,
)
