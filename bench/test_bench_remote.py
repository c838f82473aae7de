"""Remote-store throughput against the local servers, with and without concurrency and
with an injected per-request latency (a loopback proxy adding 20 ms) to show how
``max_concurrency`` amortises cloud round trips.

    pytest bench/test_bench_remote.py --benchmark-only      # numbers
    pytest bench/test_bench_remote.py --benchmark-disable   # smoke test
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_storage.servers import (  # noqa: F401
    AzuriteServer,
    FlakyProxy,
    GCSServer,
    MongoServer,
    S3Server,
    azurite_server,
    gcs_server,
    mongo_server,
    s3_server,
    unique,
)

N_KEYS = 64
VALUE = bytes(range(256)) * 256  # 64 KiB


def _make(
    backend: str, request: pytest.FixtureRequest, port_override: int | None, concurrency: int
) -> Any:
    if backend == "s3":
        from zarrfast.storage.s3 import S3Store

        srv = request.getfixturevalue("s3_server")
        bucket = getattr(srv, "_bench_bucket", None) or srv.make_bucket()
        srv._bench_bucket = bucket
        url = f"http://127.0.0.1:{port_override or srv.port}"
        return S3Store(
            bucket, prefix=unique("bench"), endpoint_url=url, max_concurrency=concurrency
        )
    if backend == "gcs":
        from zarrfast.storage.gcs import GCSStore

        srv = request.getfixturevalue("gcs_server")
        bucket = getattr(srv, "_bench_bucket", None) or srv.make_bucket()
        srv._bench_bucket = bucket
        url = f"http://127.0.0.1:{port_override or srv.port}"
        return GCSStore(
            bucket, prefix=unique("bench"), endpoint_url=url, max_concurrency=concurrency
        )
    if backend == "azure_blob":
        from zarrfast.storage.azure_blob import AzureBlobStore

        srv = request.getfixturevalue("azurite_server")
        cont = getattr(srv, "_bench_cont", None) or srv.make_container()
        srv._bench_cont = cont
        url = f"http://127.0.0.1:{port_override or srv.port}/{srv.account_name}"
        return AzureBlobStore(
            srv.account_name,
            cont,
            prefix=unique("bench"),
            account_key=srv.account_key,
            account_url=url,
            max_concurrency=concurrency,
        )
    from zarrfast.storage.mongo_gridfs import MongoGridFSStore

    srv = request.getfixturevalue("mongo_server")
    return MongoGridFSStore(srv.url, "bench", "fs", unique("bench"), max_concurrency=concurrency)


def _port(backend: str, request: pytest.FixtureRequest) -> int:
    name = {"s3": "s3_server", "gcs": "gcs_server", "azure_blob": "azurite_server"}[backend]
    return int(request.getfixturevalue(name).port)


@pytest.mark.parametrize("concurrency", [1, 32], ids=["serial", "c32"])
@pytest.mark.parametrize("latency_ms", [0, 20], ids=["direct", "rtt20ms"])
@pytest.mark.parametrize("backend", ["s3", "gcs", "azure_blob", "mongo_gridfs"])
@pytest.mark.parametrize("op", ["write", "read"])
def test_remote_throughput(
    benchmark: Any,
    request: pytest.FixtureRequest,
    backend: str,
    latency_ms: int,
    concurrency: int,
    op: str,
) -> None:
    if latency_ms and backend == "mongo_gridfs":
        pytest.skip("latency is injected by an HTTP proxy; GridFS speaks the MongoDB wire protocol")
    items = [(f"c/{i // 8}/{i % 8}", VALUE) for i in range(N_KEYS)]
    proxy = None
    if latency_ms:
        proxy = FlakyProxy(_port(backend, request), fail_rate=0.0, latency=latency_ms / 1000)
        proxy.__enter__()
    try:
        store = _make(backend, request, proxy.port if proxy else None, concurrency)
        store.set_many(items)
        keys = [k for k, _ in items]
        benchmark.extra_info["bytes"] = len(VALUE) * N_KEYS
        if op == "write":
            benchmark.pedantic(store.set_many, args=(items,), rounds=3, iterations=1)
        else:
            got = benchmark.pedantic(store.get_many, args=(keys,), rounds=3, iterations=1)
            assert all(bytes(v) == VALUE for v in got)
        store.close()
    finally:
        if proxy is not None:
            proxy.__exit__(None, None, None)
