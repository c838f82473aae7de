"""Registers the session-scoped server fixtures of :mod:`tests.test_storage.servers`.

Importing a fixture here makes pytest offer it to every storage test, so the test modules
need not import the fixture functions themselves (which ruff reports as redefined by the
test parameters of the same name).  One server per session is shared by all modules.
"""

from __future__ import annotations

from tests.test_storage.servers import azurite_server, gcs_server, mongo_server, s3_server

__all__ = ["azurite_server", "gcs_server", "mongo_server", "s3_server"]
