"""Local servers for the remote-store tests, started as real subprocesses on 127.0.0.1.

* S3: moto in server mode (``python -m moto.server``)
* GCS: gcp-storage-emulator
* Azure Blob: Azurite from npm (``scripts/setup_servers.sh`` installs it into .servers/)
* MongoDB GridFS: nx-27017 (a MongoDB wire-protocol server on SQLite)

Each fixture is session-scoped: it picks a free port, starts the server, waits (bounded)
until it answers, and kills it at the end of the session.  A server that cannot start
makes the test FAIL with the server's stderr: a skipped test would hide a broken setup.

Importing this module also points every SDK at loopback only: dummy credentials, no
cloud metadata-server lookups, no telemetry.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- loopback only
_LOOPBACK_ENV = {
    # AWS: dummy keys, no instance metadata (IMDS), no ~/.aws files from the user
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    # GCP: metadata server on an unused loopback port, never the real one
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "NO_GCE_CHECK": "True",
    "GOOGLE_CLOUD_PROJECT": "zarrfast-test",
    # Azure: managed-identity endpoints on an unused loopback port
    "IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token",
    "IDENTITY_HEADER": "dummy",
    "MSI_ENDPOINT": "http://127.0.0.1:9/msi/token",
    "AZURE_CORE_COLLECT_TELEMETRY": "false",
    "AZURITE_DISABLE_TELEMETRY": "true",
}
for _k, _v in _LOOPBACK_ENV.items():
    os.environ[_k] = _v
for _k in (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_SESSION_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "STORAGE_EMULATOR_HOST",
):
    os.environ.pop(_k, None)

#: Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

START_TIMEOUT = float(os.environ.get("ZARRFAST_SERVER_START_TIMEOUT", "60"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique(name: str = "t") -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}"


@dataclass
class ServerProcess:
    """A server subprocess whose output goes to files (read back on failure)."""

    name: str
    argv: list[str]
    port: int
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    logdir: str = ""

    def start(self) -> ServerProcess:
        self.logdir = tempfile.mkdtemp(prefix=f"zarrfast-{self.name}-")
        # The log files stay open while the server runs (no `with`): stop() closes them.
        self._out = open(os.path.join(self.logdir, "stdout"), "wb")  # noqa: SIM115
        self._err = open(os.path.join(self.logdir, "stderr"), "wb")  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=self._out,
                stderr=self._err,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                cwd=self.cwd or self.logdir,
            )
        except OSError as exc:
            self.stop()
            pytest.fail(f"{self.name}: cannot start {self.argv!r}: {exc}", pytrace=False)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"exited with code {self.proc.returncode} before answering")
            try:
                if self.ready():
                    return self
            except Exception:
                pass
            time.sleep(0.1)
        self.fail(f"did not answer on 127.0.0.1:{self.port} within {START_TIMEOUT:.0f}s")
        raise AssertionError("unreachable")

    def output(self) -> str:
        chunks = []
        for stream in ("stderr", "stdout"):
            try:
                text = Path(self.logdir, stream).read_text(errors="replace")
            except OSError:
                continue
            if text.strip():
                chunks.append(f"--- {stream} (last 3000 chars) ---\n{text[-3000:]}")
        return "\n".join(chunks) or "(no output)"

    def fail(self, why: str) -> None:
        out = self.output()
        self.stop()
        pytest.fail(f"test server {self.name} ({' '.join(self.argv)}) {why}\n{out}", pytrace=False)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f is not None:
                f.close()


def _tcp_ready(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


def _http_ready(port: int, path: str = "/", method: str = "GET") -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        resp.read()
        return resp.status < 600
    finally:
        conn.close()


# --------------------------------------------------------------------------- servers
@dataclass
class S3Server:
    endpoint_url: str
    port: int
    process: ServerProcess

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def make_bucket(self, name: str | None = None) -> str:
        name = name or unique("bucket")
        self.client().create_bucket(Bucket=name)
        return name


def start_moto(extra_env: dict[str, str] | None = None) -> S3Server:
    port = free_port()
    proc = ServerProcess(
        "moto",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        port,
        lambda: _http_ready(port, "/moto-api/"),
        env=dict(extra_env or {}),
    ).start()
    return S3Server(f"http://127.0.0.1:{port}", port, proc)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start_moto()
    try:
        yield server
    finally:
        server.process.stop()


@dataclass
class GCSServer:
    endpoint: str
    port: int
    process: ServerProcess

    def client(self):  # type: ignore[no-untyped-def]
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="zarrfast-test",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def make_bucket(self, name: str | None = None) -> str:
        name = name or unique("bucket")
        self.client().create_bucket(name)
        return name


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSServer]:
    exe = shutil.which(
        "gcp-storage-emulator", path=os.path.dirname(sys.executable)
    ) or shutil.which("gcp-storage-emulator")
    argv = [exe] if exe else [sys.executable, "-m", "gcp_storage_emulator"]
    port = free_port()
    proc = ServerProcess(
        "gcp-storage-emulator",
        [*argv, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"],
        port,
        lambda: _http_ready(port, "/storage/v1/b"),
    ).start()
    try:
        yield GCSServer(f"http://127.0.0.1:{port}", port, proc)
    finally:
        proc.stop()


@dataclass
class AzuriteServer:
    account_url: str
    port: int
    process: ServerProcess
    account_name: str = AZURITE_ACCOUNT
    account_key: str = AZURITE_KEY

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.account_url};"
        )

    def make_container(self, name: str | None = None) -> str:
        from azure.storage.blob import BlobServiceClient

        name = name or unique("cont")
        BlobServiceClient.from_connection_string(self.connection_string).create_container(name)
        return name


def azurite_executable() -> str | None:
    local = ROOT / ".servers" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    exe = azurite_executable()
    if exe is None:
        pytest.fail(
            "Azurite is not installed: run `bash scripts/setup_servers.sh` (npm install "
            "azurite into .servers/)",
            pytrace=False,
        )
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="zarrfast-azurite-data-")
    proc = ServerProcess(
        "azurite",
        [
            exe,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            workdir,
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
            "--loose",
        ],
        port,
        lambda: _tcp_ready(port),
    ).start()
    try:
        yield AzuriteServer(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}", port, proc)
    finally:
        proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class MongoServer:
    url: str
    port: int
    process: ServerProcess


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoServer]:
    port = free_port()
    logdir = tempfile.mkdtemp(prefix="zarrfast-nx-")
    code = (
        "import sys; from nx_27017.nx_27017 import main; sys.argv[0] = 'nx-27017'; sys.exit(main())"
    )
    proc = ServerProcess(
        "nx-27017",
        [
            sys.executable,
            "-c",
            code,
            "--host",
            "127.0.0.1",
            "-p",
            str(port),
            "--data-dir",
            "memory",
            "--log-file",
            os.path.join(logdir, "nx.log"),
            "--pid-file",
            os.path.join(logdir, "nx.pid"),
        ],
        port,
        lambda: _mongo_ready(port),
    ).start()
    try:
        yield MongoServer(f"mongodb://127.0.0.1:{port}", port, proc)
    finally:
        proc.stop()
        shutil.rmtree(logdir, ignore_errors=True)


def _mongo_ready(port: int) -> bool:
    import pymongo

    client = pymongo.MongoClient(
        f"mongodb://127.0.0.1:{port}", serverSelectionTimeoutMS=500, connectTimeoutMS=500
    )
    try:
        return bool(client.admin.command("ping").get("ok"))
    finally:
        client.close()


# --------------------------------------------------------------------------- fault injection
class FlakyProxy:
    """A loopback HTTP proxy that answers a seeded share of requests with an error.

    Every request is forwarded to ``upstream_port`` unless the dice say fail, in which
    case the proxy answers ``status`` with an S3-style XML error body (``SlowDown``) and
    never forwards it, so the client must retry.  ``latency`` adds a per-request delay
    (used by the benchmarks to imitate cloud round trips).

    With ``control=True`` the proxy also answers ``GET /__proxy__/stats`` itself (never
    forwarded): JSON with the requests served, the most in flight at once and the body
    bytes each way since the last ``GET /__proxy__/stats?reset=1``.  The benchmarks run
    it in its own process (``python -m tests.test_storage.servers proxy ...``) so that its
    CPU is not charged to the client being measured.
    """

    def __init__(
        self,
        upstream_port: int,
        *,
        fail_rate: float = 0.3,
        seed: int = 1234,
        status: int = 503,
        code: str = "SlowDown",
        latency: float = 0.0,
        control: bool = False,
        port: int = 0,
    ) -> None:
        self.upstream_port = upstream_port
        self.control = control
        self.inflight = 0
        self.max_inflight = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.fail_rate = fail_rate
        self.status = status
        self.code = code
        self.latency = latency
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.requests = 0
        self.failed = 0
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    while proxy._serve_one(self, upstream):
                        pass
                finally:
                    upstream.close()

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", port), Handler)
        self.port = int(self._server.server_address[1])
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve_one(
        self, h: socketserver.StreamRequestHandler, upstream: http.client.HTTPConnection
    ) -> bool:
        line = h.rfile.readline(65537)
        if not line or not line.strip():
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            hl = h.rfile.readline(65537).decode("latin-1")
            if hl in ("\r\n", "\n", ""):
                break
            k, _, v = hl.partition(":")
            headers.append((k.strip(), v.strip()))
        hmap = {k.lower(): v for k, v in headers}
        if self.control and target.startswith("/__proxy__/stats"):
            return self._answer_stats(h, reset="reset=1" in target)
        if hmap.get("expect", "").lower() == "100-continue":
            # botocore waits ~1 s for this before sending a PUT body; answer it at once.
            h.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            h.wfile.flush()
            headers = [(k, v) for k, v in headers if k.lower() != "expect"]
        body = b""
        if "content-length" in hmap:
            body = h.rfile.read(int(hmap["content-length"]))
        elif hmap.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(h.rfile.read(size))
                h.rfile.readline()
            body = b"".join(parts)
            headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
            headers.append(("Content-Length", str(len(body))))
        with self._lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            return self._forward(h, upstream, method, target, headers, body)
        finally:
            with self._lock:
                self.inflight -= 1

    def _answer_stats(self, h: socketserver.StreamRequestHandler, reset: bool) -> bool:
        import json

        with self._lock:
            stats = {
                "requests": self.requests,
                "failed": self.failed,
                "max_inflight": self.max_inflight,
                "bytes_up": self.bytes_up,
                "bytes_down": self.bytes_down,
            }
            if reset:
                self.requests = self.failed = self.bytes_up = self.bytes_down = 0
                self.max_inflight = self.inflight
        payload = json.dumps(stats).encode()
        h.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        h.wfile.flush()
        return True

    def _forward(
        self,
        h: socketserver.StreamRequestHandler,
        upstream: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bool:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self.requests += 1
            self.bytes_up += len(body)
            fail = self._rng.random() < self.fail_rate
            if fail:
                self.failed += 1
        if fail:
            payload = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code>'
                f"<Message>Please reduce your request rate.</Message></Error>"
            ).encode()
            h.wfile.write(
                f"HTTP/1.1 {self.status} Injected\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            h.wfile.flush()
            return True
        upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            if k.lower() != "content-length":
                upstream.putheader(k, v)
        if body or method in ("PUT", "POST"):
            upstream.putheader("Content-Length", str(len(body)))
        upstream.endheaders(body or None)
        resp = upstream.getresponse()
        data = resp.read()
        out = [f"HTTP/1.1 {resp.status} {resp.reason}\r\n"]
        length = str(len(data))
        for k, v in resp.getheaders():
            if k.lower() == "content-length" and method == "HEAD":
                length = v  # a HEAD answer announces the object's size, with no body
                continue
            if k.lower() in ("transfer-encoding", "content-length", "connection"):
                continue
            out.append(f"{k}: {v}\r\n")
        out.append(f"Content-Length: {length}\r\n\r\n")
        with self._lock:
            self.bytes_down += len(data)
        h.wfile.write("".join(out).encode("latin-1") + (b"" if method == "HEAD" else data))
        h.wfile.flush()
        return True


# --------------------------------------------------------------------------- shared checks
class CountingStore:
    """Wraps a store and records every byte request made through it (for range tests)."""

    def __init__(self, store):  # type: ignore[no-untyped-def]
        from zarrfast.abc.store import Store

        inner = store

        class _Counting(Store):
            backend_name = "counting"
            requests: list = []

            def get(self, key, byte_range=None):  # type: ignore[no-untyped-def]
                v = inner.get(key, byte_range)
                self.requests.append((key, byte_range, 0 if v is None else len(v)))
                return v

            def get_ranges(self, reqs):  # type: ignore[no-untyped-def]
                reqs = list(reqs)
                out = inner.get_ranges(reqs)
                for (k, r), v in zip(reqs, out):
                    self.requests.append((k, r, 0 if v is None else len(v)))
                return out

            def get_many(self, keys):  # type: ignore[no-untyped-def]
                return self.get_ranges([(k, None) for k in keys])

            def set(self, key, value):  # type: ignore[no-untyped-def]
                inner.set(key, value)

            def set_many(self, items):  # type: ignore[no-untyped-def]
                inner.set_many(items)

            def delete(self, key):  # type: ignore[no-untyped-def]
                inner.delete(key)

            def exists(self, key):  # type: ignore[no-untyped-def]
                return inner.exists(key)

            def list_prefix(self, prefix):  # type: ignore[no-untyped-def]
                return inner.list_prefix(prefix)

            def list_dir(self, prefix):  # type: ignore[no-untyped-def]
                return inner.list_dir(prefix)

        _Counting.requests = []
        self.store = _Counting()


def _read_in_child(store, key):  # type: ignore[no-untyped-def]
    """Runs in a spawned process: the store was pickled, its client reopens here."""
    import os

    value = store.get(key)
    store.set(f"child-{os.getpid()}", b"from child")
    return None if value is None else bytes(value)


class RemoteArrayTests:
    """Checks every remote backend runs on top of StoreTests (see issue #5).

    Subclasses provide ``make_store(**overrides)`` (a fresh store on a unique prefix)
    as a fixture named ``make_store``, ``storage_name`` and ``storage_options()``.
    """

    storage_name = ""
    list_keys = 2100

    @pytest.mark.parametrize(
        "zarr_format,sharded", [(2, False), (3, False), (3, True)], ids=["v2", "v3", "v3-sharded"]
    )
    def test_array_round_trip(self, make_store, zarr_format, sharded) -> None:  # type: ignore[no-untyped-def]
        import pickle

        import numpy as np

        import zarrfast as zf

        store = make_store()
        data = np.arange(40 * 50, dtype="<i4").reshape(40, 50)
        kw = {"shards": (20, 20)} if sharded else {}
        if zarr_format == 2:
            kw["compressor"] = "zlib"
        arr = zf.create(
            shape=data.shape,
            chunks=(10, 10),
            dtype="<i4",
            store=store,
            path="g/arr",
            zarr_format=zarr_format,
            **kw,
        )
        arr[...] = data
        keys = sorted(store.list_prefix("g/arr/"))
        if zarr_format == 2:
            assert "g/arr/.zarray" in keys
            chunk_keys = {f"g/arr/{i}.{j}" for i in range(4) for j in range(5)}
        elif sharded:
            assert "g/arr/zarr.json" in keys
            chunk_keys = {f"g/arr/c/{i}/{j}" for i in range(2) for j in range(3)}
        else:
            assert "g/arr/zarr.json" in keys
            chunk_keys = {f"g/arr/c/{i}/{j}" for i in range(4) for j in range(5)}
        assert chunk_keys <= set(keys), keys
        assert set(keys) - chunk_keys <= {"g/arr/zarr.json", "g/arr/.zarray", "g/arr/.zattrs"}
        clone = pickle.loads(pickle.dumps(store))
        again = zf.open_array(clone, path="g/arr", mode="r")
        np.testing.assert_array_equal(again[...], data)
        np.testing.assert_array_equal(again[5:17, 33:49], data[5:17, 33:49])
        clone.close()

    def test_sharded_read_fetches_only_needed_bytes(self, make_store) -> None:  # type: ignore[no-untyped-def]
        import numpy as np

        import zarrfast as zf

        store = make_store()
        data = np.random.default_rng(0).random((64, 64))  # incompressible float64
        arr = zf.create(
            shape=data.shape,
            chunks=(8, 8),
            shards=(64, 64),
            dtype="f8",
            store=store,
            path="s",
            compressor=None,
        )
        arr[...] = data
        shard_size = store.getsize("s/c/0/0")
        counting = CountingStore(store).store
        out = zf.open_array(counting, path="s", mode="r")[0:8, 0:8]
        np.testing.assert_array_equal(out, data[0:8, 0:8])
        fetched = sum(n for k, _r, n in counting.requests if k == "s/c/0/0")
        assert fetched < shard_size // 8, (fetched, shard_size, counting.requests)
        assert all(r is not None for k, r, _n in counting.requests if k == "s/c/0/0")

    def test_create_through_storage_option(self, make_store) -> None:  # type: ignore[no-untyped-def]
        import numpy as np

        import zarrfast as zf

        opts = self.storage_options(make_store())
        arr = zf.create(
            shape=(6, 6),
            chunks=(3, 3),
            dtype="u1",
            storage=self.storage_name,
            path="via-api",
            **opts,
        )
        arr[...] = np.arange(36, dtype="u1").reshape(6, 6)
        back = zf.open_array(storage=self.storage_name, path="via-api", mode="r", **opts)
        np.testing.assert_array_equal(back[...], np.arange(36, dtype="u1").reshape(6, 6))

    def test_pickled_store_reopens_in_another_process(self, make_store) -> None:  # type: ignore[no-untyped-def]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        store = make_store()
        store.set("k", b"parent value")
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            assert pool.submit(_read_in_child, store, "k").result(timeout=120) == b"parent value"
        assert any(k.startswith("child-") for k in store.list())

    def test_listing_paginates_and_prefix_delete_batches(self, make_store) -> None:  # type: ignore[no-untyped-def]
        store = make_store()
        n = self.list_keys
        store.set_many((f"c/{i // 100}/{i % 100}", b"x") for i in range(n))
        store.set("keep", b"k")
        assert len(set(store.list_prefix("c/"))) == n
        assert len(set(store.list_dir("c/"))) == (n + 99) // 100
        assert store.getsize_prefix("c/") == n
        assert store.delete_prefix("c/") == n
        assert list(store.list()) == ["keep"]

    def test_fork_rebuilds_client_and_pool(self, make_store) -> None:  # type: ignore[no-untyped-def]
        store = make_store()
        store.set_many([("a", b"1"), ("b", b"2")])
        assert [bytes(v) for v in store.get_many(["a", "b"])] == [b"1", b"2"]
        pid = os.fork()
        if pid == 0:  # child: the parent's pool threads and sockets do not exist here
            code = 1
            try:
                got = [bytes(v) for v in store.get_many(["a", "b"])]
                code = 0 if got == [b"1", b"2"] else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0

    def test_repr_and_errors_hide_secrets(self, make_store) -> None:  # type: ignore[no-untyped-def]
        store = make_store()
        for secret in store._secrets():
            assert secret not in repr(store) and secret not in str(store)


def _main(argv: list[str] | None = None) -> None:
    """``python -m tests.test_storage.servers proxy --upstream PORT [--latency S]``:
    a control-enabled :class:`FlakyProxy` in this process; prints its port, then serves
    until killed."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tests.test_storage.servers")
    ap.add_argument("what", choices=["proxy"])
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--fail-rate", type=float, default=0.0)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    proxy = FlakyProxy(
        args.upstream,
        fail_rate=args.fail_rate,
        latency=args.latency,
        control=True,
        port=args.port,
    )
    print(proxy.port, flush=True)
    proxy._server.serve_forever()


if __name__ == "__main__":
    _main()
