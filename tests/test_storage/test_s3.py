"""S3Store against moto in server mode (a real subprocess on 127.0.0.1)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from tests.test_storage.servers import (
    FlakyProxy,
    RemoteArrayTests,
    S3Server,
    start_moto,
    unique,
)
from zarrfast.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarrfast.errors import (
    AccessDeniedError,
    AuthenticationError,
    ContainerNotFoundError,
    TransientStoreError,
)
from zarrfast.storage.s3 import S3Store
from zarrfast.testing import StoreTests

SECRET = "s3cr3t-TESTING-key-do-not-print"


@pytest.fixture(scope="module")
def s3_bucket(s3_server: S3Server) -> str:
    return s3_server.make_bucket()


class TestS3Store(StoreTests, RemoteArrayTests):
    persistent = True
    secret_fields = ("aws_secret_access_key",)
    storage_name = "s3"

    @pytest.fixture
    def store(self, s3_server: S3Server, s3_bucket: str) -> Iterator[S3Store]:
        with S3Store(
            s3_bucket,
            prefix=unique("p"),
            endpoint_url=s3_server.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key=SECRET,
        ) as s:
            yield s

    @pytest.fixture
    def make_store(self, store: S3Store) -> Callable[..., S3Store]:
        return lambda **kw: store

    def storage_options(self, store: S3Store) -> dict[str, Any]:
        cfg = store._pickle_config()
        return {k: cfg[k] for k in ("bucket", "prefix", "endpoint_url")}


def test_keys_and_bytes_match_the_zarr_layout(s3_server: S3Server, s3_bucket: str) -> None:
    """Objects are exactly the Zarr keys under the prefix, byte for byte."""
    store = S3Store(s3_bucket, prefix="layout/exp1", endpoint_url=s3_server.endpoint_url)
    data = np.arange(12, dtype="<u2").reshape(3, 4)
    zf.create(
        shape=(3, 4), chunks=(2, 2), dtype="<u2", store=store, zarr_format=2, compressor=None
    )[...] = data
    zf.create(shape=(3, 4), chunks=(2, 2), dtype="<u2", store=store, path="v3", compressor=None)[
        ...
    ] = data
    raw = s3_server.client()
    names = sorted(
        o["Key"] for o in raw.list_objects_v2(Bucket=s3_bucket, Prefix="layout/exp1/")["Contents"]
    )
    assert "layout/exp1/.zarray" in names and "layout/exp1/0.0" in names
    assert "layout/exp1/v3/zarr.json" in names and "layout/exp1/v3/c/1/1" in names
    body = raw.get_object(Bucket=s3_bucket, Key="layout/exp1/0.1")["Body"].read()
    assert body == np.ascontiguousarray(data[0:2, 2:4]).tobytes()


def test_zarr_python_reads_what_zarrfast_wrote(s3_server: S3Server, s3_bucket: str) -> None:
    """zarr-python's FsspecStore (s3fs) opens the array zarrfast wrote to the S3 server."""
    zarr = pytest.importorskip("zarr")
    pytest.importorskip("s3fs")
    data = np.random.default_rng(1).integers(0, 1000, (30, 40)).astype("<i8")
    store = S3Store(s3_bucket, prefix="interop", endpoint_url=s3_server.endpoint_url)
    zf.create(
        shape=data.shape, chunks=(8, 8), shards=(16, 16), dtype="<i8", store=store, path="a3"
    )[...] = data
    zf.create(shape=data.shape, chunks=(8, 8), dtype="<i8", store=store, path="a2", zarr_format=2)[
        ...
    ] = data
    opts = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3_server.endpoint_url, "region_name": "us-east-1"},
    }
    for path in ("a3", "a2"):
        arr = zarr.open_array(f"s3://{s3_bucket}/interop/{path}", mode="r", storage_options=opts)
        np.testing.assert_array_equal(arr[...], data)


def test_throttled_writes_all_land(s3_server: S3Server, s3_bucket: str) -> None:
    """30% of requests answered 503 SlowDown by a proxy: every write still lands."""
    with FlakyProxy(s3_server.port, fail_rate=0.3, seed=7) as proxy:
        store = S3Store(
            s3_bucket,
            prefix=unique("throttle"),
            endpoint_url=proxy.endpoint_url,
            retries={"base_delay": 0.005, "max_delay": 0.05, "max_attempts": 20},
        )
        items = [(f"c/{i}", f"value {i}".encode() * 50) for i in range(200)]
        store.set_many(items)
        data = np.arange(100 * 100, dtype="f4").reshape(100, 100)
        zf.create(shape=data.shape, chunks=(10, 10), dtype="f4", store=store, path="arr")[...] = (
            data
        )
        np.testing.assert_array_equal(zf.open_array(store, path="arr", mode="r")[...], data)
        assert proxy.failed > 50
    direct = S3Store(s3_bucket, prefix=store.prefix, endpoint_url=s3_server.endpoint_url)
    got = direct.get_many([k for k, _ in items])
    assert [bytes(v) for v in got] == [v for _, v in items]


def test_retries_are_bounded(s3_server: S3Server, s3_bucket: str) -> None:
    with FlakyProxy(s3_server.port, fail_rate=1.0) as proxy:
        store = S3Store(
            s3_bucket,
            endpoint_url=proxy.endpoint_url,
            retries={"max_attempts": 4, "base_delay": 0.001},
        )
        with pytest.raises(TransientStoreError, match="after 4 attempts"):
            store.set("k", b"v")
        assert proxy.requests == 4


def test_missing_bucket_is_named(s3_server: S3Server) -> None:
    store = S3Store("no-such-bucket-zf", endpoint_url=s3_server.endpoint_url)
    with pytest.raises(ContainerNotFoundError, match="no-such-bucket-zf"):
        store.set("k", b"v")
    with pytest.raises(ContainerNotFoundError, match="no-such-bucket-zf"):
        list(store.list())


@pytest.fixture(scope="module")
def moto_with_auth() -> Iterator[tuple[S3Server, str, dict[str, str]]]:
    """A second moto with IAM auth on: the first 6 requests are free (the setup below):
    a bucket, a user with no policy ("nobody") and one allowed everything ("admin")."""
    server = start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "6"})
    try:
        import boto3

        kw = {
            "endpoint_url": server.endpoint_url,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        bucket = unique("locked")
        boto3.client("s3", **kw).create_bucket(Bucket=bucket)
        iam = boto3.client("iam", **kw)
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        iam.create_user(UserName="admin")
        iam.put_user_policy(
            UserName="admin",
            PolicyName="all",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
        admin = iam.create_access_key(UserName="admin")["AccessKey"]
        yield (
            server,
            bucket,
            {
                "aws_access_key_id": key["AccessKeyId"],
                "aws_secret_access_key": key["SecretAccessKey"],
            },
            {
                "aws_access_key_id": admin["AccessKeyId"],
                "aws_secret_access_key": admin["SecretAccessKey"],
            },
        )
    finally:
        server.process.stop()


AuthServer = tuple[S3Server, str, dict[str, str], dict[str, str]]


def test_denied_credentials(moto_with_auth: AuthServer) -> None:
    server, bucket, nobody, _ = moto_with_auth
    # A valid user with no policy: 403 AccessDenied.
    store = S3Store(bucket, endpoint_url=server.endpoint_url, **nobody)
    with pytest.raises(AccessDeniedError) as denied:
        store.set("k", b"v")
    assert isinstance(denied.value, PermissionError)
    # Unknown key id / wrong secret: AuthenticationError, and the secret never shows.
    bad = S3Store(
        bucket,
        endpoint_url=server.endpoint_url,
        aws_access_key_id="AKIAWRONGWRONGWRONG",
        aws_secret_access_key=SECRET,
    )
    with pytest.raises(AuthenticationError) as auth:
        bad.get("k")
    for text in (str(auth.value), repr(auth.value), str(auth.value.__cause__), repr(bad)):
        assert SECRET not in text
    assert SECRET not in repr(pickle.loads(pickle.dumps(bad)))


def test_endpoint_from_environment(
    s3_server: S3Server,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    store = S3Store(s3_bucket, prefix=unique("env"))
    store.set("k", b"v")
    assert store.get("k") == b"v"
    assert s3_server.endpoint_url in repr(store)


def test_secret_not_logged(
    s3_server: S3Server,
    s3_bucket: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="zarrfast")
    with FlakyProxy(s3_server.port, fail_rate=0.5, seed=3) as proxy:
        store = S3Store(
            s3_bucket,
            endpoint_url=proxy.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key=SECRET,
            retries={"base_delay": 0.001, "max_attempts": 30},
        )
        store.set_many((f"x/{i}", b"v") for i in range(20))
    assert "retrying" in caplog.text
    assert SECRET not in caplog.text


# ------------------------------------------------------------------ the lean data path
def test_lean_path_signs_what_moto_verifies(moto_with_auth: AuthServer) -> None:
    """GET/PUT/HEAD signed by zarrfast's own SigV4 (checked by moto with IAM auth on)
    agree byte for byte with boto3's path, for awkward keys, ranges and session tokens."""
    server, bucket, _, admin = moto_with_auth
    prefix = unique("lean") + "/sp ace+plus/ü"
    fast = S3Store(bucket, prefix=prefix, endpoint_url=server.endpoint_url, **admin)
    slow = S3Store(
        bucket, prefix=prefix, endpoint_url=server.endpoint_url, fast_path=False, **admin
    )
    assert fast._get_client().fast is not None
    assert slow._get_client().fast is None
    keys = ["zarr.json", "c/0/0", "a b/c+d", "ü/%41~x", "q?=&#"]
    items = [(k, (k.encode() + bytes(range(256))) * 40) for k in keys]
    fast.set_many(items)
    assert [bytes(v) for v in slow.get_many(keys)] == [v for _, v in items]
    assert [bytes(v) for v in fast.get_many(keys)] == [v for _, v in items]
    slow.set("from-boto3", b"abcdefghij")
    for req in (RangeByteRequest(2, 5), SuffixByteRequest(3), OffsetByteRequest(7)):
        assert fast.get("from-boto3", req) == slow.get("from-boto3", req)
    assert fast.get("from-boto3", RangeByteRequest(50, 60)) == b""
    assert fast.getsize("a b/c+d") == len(items[2][1])
    assert fast.get("missing") is None and not fast.exists("missing")
    # temporary credentials (an assumed role): the session token is signed too
    import boto3

    kw: dict[str, Any] = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1", **admin}
    allow_all = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    )
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    iam = boto3.client("iam", **kw)
    role = iam.create_role(RoleName=unique("role"), AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="all", PolicyDocument=allow_all)
    sts = boto3.client("sts", **kw)
    tmp = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="zarrfast")["Credentials"]
    with_token = S3Store(
        bucket,
        prefix=prefix,
        endpoint_url=server.endpoint_url,
        aws_access_key_id=tmp["AccessKeyId"],
        aws_secret_access_key=tmp["SecretAccessKey"],
        aws_session_token=tmp["SessionToken"],
    )
    assert with_token._get_client().fast is not None
    with_token.set("token-key", b"t")
    assert slow.get("token-key") == b"t"
    # a wrong secret is refused by the server, mapped as before, and never printed
    bad = S3Store(
        bucket,
        endpoint_url=server.endpoint_url,
        aws_access_key_id=admin["aws_access_key_id"],
        aws_secret_access_key=SECRET,
    )
    assert bad._get_client().fast is not None
    with pytest.raises(AuthenticationError, match="SignatureDoesNotMatch") as auth:
        bad.get("zarr.json")
    assert SECRET not in str(auth.value)


def test_lean_path_only_for_configurations_it_understands(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = s3_server.endpoint_url
    assert S3Store(s3_bucket, endpoint_url=url)._get_client().fast is not None
    assert S3Store(s3_bucket, endpoint_url=url, fast_path=False)._get_client().fast is None
    odd = S3Store(s3_bucket, endpoint_url=url, client_kwargs={"api_version": "2006-03-01"})
    assert odd._get_client().fast is None
    odd.set("k", b"v")
    assert odd.get("k") == b"v"
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # boto3 honours it; we do not
    proxied = S3Store(s3_bucket, endpoint_url=url)
    assert proxied._get_client().fast is None
    assert proxied.get("k") == b"v"  # an http:// endpoint does not use HTTPS_PROXY


def test_lean_path_hands_redirects_to_boto3(s3_server: S3Server, s3_bucket: str) -> None:
    from zarrfast.storage._s3fast import Fallback

    with FlakyProxy(s3_server.port, fail_rate=1.0, status=301, code="PermanentRedirect") as p:
        store = S3Store(s3_bucket, endpoint_url=p.endpoint_url)
        fast = store._get_client().fast
        with pytest.raises(Fallback):
            fast.get("k", None)
        with pytest.raises(Fallback):
            fast.put("k", b"v")


def test_sessions_are_shared_until_the_credentials_change(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = S3Store(s3_bucket, endpoint_url=s3_server.endpoint_url)
    b = S3Store(s3_bucket, prefix="other", endpoint_url=s3_server.endpoint_url)
    first = a._session()[0]
    assert b._session()[0] is first
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "someone-else")  # a new session sees new keys
    c = S3Store(s3_bucket, endpoint_url=s3_server.endpoint_url)
    assert c._session()[0] is not first
    keyed = S3Store(
        s3_bucket,
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    assert keyed._session()[0] is not first
