"""Shipped test harnesses for zarrfast interfaces.

:class:`StoreTests` is the conformance suite every storage backend runs; subclass it
in your own test suite to check a custom :class:`zarrfast.abc.store.Store`.
"""

from zarrfast.testing.store_tests import INVALID_KEYS, NON_STR_KEYS, StoreTests

__all__ = ["INVALID_KEYS", "NON_STR_KEYS", "StoreTests"]
