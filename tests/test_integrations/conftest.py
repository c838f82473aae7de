"""Fixtures for the dask / zarr-python / xarray integration tests.

pytest-asyncio runs in strict mode for the rest of the suite; :func:`asyncio_auto` gives
one test class the behaviour of auto mode (every ``async def test_*`` marked, async
fixtures overridden with ``pytest_asyncio.fixture`` where the class defines them).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_storage.servers import S3Server, s3_server, unique  # noqa: F401


def asyncio_auto(cls: type) -> type:
    """Mark every inherited coroutine test of ``cls`` with ``pytest.mark.asyncio``.

    The functions are wrapped (not mutated), so the third-party base class is untouched.
    """
    for name in dir(cls):
        if not name.startswith("test_"):
            continue
        fn = getattr(cls, name)
        if not inspect.iscoroutinefunction(fn) or getattr(fn, "_zf_auto", False):
            continue

        def make(f: Any) -> Any:
            @functools.wraps(f)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                return await f(*args, **kwargs)

            wrapper._zf_auto = True  # type: ignore[attr-defined]
            return wrapper

        setattr(cls, name, pytest.mark.asyncio(make(fn)))
    return cls


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A real LocalCluster: 2 worker processes, 1 thread each."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
