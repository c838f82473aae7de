"""W7's object store: moto's S3 server on 127.0.0.1 behind a proxy that adds a fixed
latency to every request (20 ms: a cloud round trip), both started here as their own
processes, so neither's CPU is charged to the client under test.

The implementations are handed an :class:`S3Loc` (the proxy's endpoint, bucket and key
prefix).  Set-up and clean-up (uploading the reference array, clearing a write target)
talk to moto directly and are never timed.  :meth:`Cloud.stats` reads the proxy's
counters (requests, most in flight, body bytes each way) for the "where the time goes"
columns of ``compare.py``.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: Added to every request by the proxy, in seconds.
LATENCY = 0.020
REGION = "us-east-1"
KEY_ID = SECRET = "testing"


@dataclass(frozen=True)
class S3Loc:
    """Where an implementation reads or writes: ``s3://bucket/prefix`` at ``endpoint``."""

    endpoint: str
    bucket: str
    prefix: str

    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def child(self, *parts: str) -> S3Loc:
        return replace(self, prefix="/".join([self.prefix, *parts]).strip("/"))


class Cloud:
    """moto + latency proxy for one benchmark process (see :func:`get`)."""

    def __init__(self, latency: float = LATENCY) -> None:
        # Importing the servers module points every SDK at loopback with dummy keys.
        from tests.test_storage import servers

        self.latency = latency
        self._moto = servers.start_moto()
        self.direct = self._moto.endpoint_url
        self._proxy = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.test_storage.servers",
                "proxy",
                "--upstream",
                str(self._moto.port),
                "--latency",
                str(latency),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self._proxy.stdout is not None
        line = self._proxy.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"latency proxy did not start (printed {line!r})")
        self.endpoint = f"http://127.0.0.1:{int(line)}"
        self.bucket = self._moto.make_bucket("zarrfast-bench")
        self._uploaded: set[str] = set()

    def client(self) -> Any:
        """A boto3 client talking to moto directly (no added latency): set-up only."""
        return self._moto.client()

    def loc(self, prefix: str) -> S3Loc:
        return S3Loc(self.endpoint, self.bucket, prefix)

    def upload(self, objects: dict[str, bytes], prefix: str) -> S3Loc:
        """Put ``objects`` under ``prefix`` once per process; returns their location."""
        if prefix not in self._uploaded:
            c = self.client()
            for k, v in objects.items():
                c.put_object(Bucket=self.bucket, Key=f"{prefix}/{k}", Body=v)
            self._uploaded.add(prefix)
        return self.loc(prefix)

    def clear(self, loc: S3Loc) -> None:
        """Delete every object under ``loc`` (a write target), directly on moto."""
        c = self.client()
        pages = c.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=loc.prefix + "/"
        )
        for page in pages:
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                c.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def stats(self, reset: bool = False) -> dict[str, int]:
        """The proxy's counters since the last reset (requests, max_inflight, bytes)."""
        url = f"{self.endpoint}/__proxy__/stats" + ("?reset=1" if reset else "")
        with urllib.request.urlopen(url, timeout=10) as resp:  # loopback only
            return json.loads(resp.read())  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self._proxy.poll() is None:
            self._proxy.terminate()
            try:
                self._proxy.wait(10)
            except subprocess.TimeoutExpired:
                self._proxy.kill()
        self._moto.process.stop()


_CLOUD: list[Cloud] = []


def get() -> Cloud:
    """The process's :class:`Cloud`, started on first use and stopped at exit."""
    if not _CLOUD:
        _CLOUD.append(Cloud())
        atexit.register(_CLOUD[0].stop)
    return _CLOUD[0]
