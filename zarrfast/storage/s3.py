"""Amazon S3 and S3-compatible object stores (MinIO, LocalStack, Ceph, Wasabi...) via boto3.

Objects are named exactly like the Zarr keys under ``prefix`` (``prefix/zarr.json``,
``prefix/c/0/0``, ``prefix/.zarray``, ``prefix/0.0``), so zarr-python, tensorstore or
any S3 tool reads the same bucket.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

from zarrfast.storage._remote import (
    DEFAULT_MAX_CONCURRENCY,
    ErrorKind,
    HttpRange,
    RemoteStore,
    RetryPolicy,
    import_sdk,
)
from zarrfast.storage._s3fast import Fallback

__all__ = ["S3Store"]

#: Environment variables that change which credentials a new boto3 session resolves.
_CREDENTIAL_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
#: ``client_kwargs`` the lean data path understands; any other one sends every request
#: through boto3.
_FAST_CLIENT_KWARGS = {"region_name", "endpoint_url", "verify", "use_ssl", "config"}

# boto3 sessions, shared by the stores of a process with the same credential sources:
# building one loads botocore's service models (~90 ms); a client from a warm one ~5 ms.
_SESSIONS: dict[tuple[Any, ...], tuple[Any, threading.Lock]] = {}
_SESSIONS_LOCK = threading.Lock()


class _Clients(NamedTuple):
    """What ``S3Store._connect`` builds per process: the boto3 client and, when the
    configuration allows it, the lean GET/PUT/HEAD path (:mod:`._s3fast`)."""

    boto: Any
    fast: Any


_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_CONTAINER = {"NoSuchBucket"}
_AUTH = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthFailure",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
    "AuthorizationHeaderMalformed",
    "InvalidSecurity",
}
_DENIED = {"AccessDenied", "AllAccessDisabled", "AccountProblem", "403", "Forbidden"}
_TRANSIENT = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
    "502",
    "504",
    "429",
    "BadDigest",
    "OperationAborted",
}


class S3Store(RemoteStore):
    """A store in an S3 bucket (or any S3-compatible service).

    Parameters
    ----------
    bucket : str
        Bucket name.
    prefix : str, optional
        Key prefix ("directory") inside the bucket, e.g. ``"experiments/array1"``.
    region : str, optional
        AWS region; default from the standard chain (``AWS_REGION``,
        ``AWS_DEFAULT_REGION``, ``~/.aws/config``), else ``us-east-1``.
    endpoint_url : str, optional
        Custom endpoint for MinIO, LocalStack, moto...  Without it botocore honours
        ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``.
    aws_access_key_id, aws_secret_access_key, aws_session_token : str, optional
        Explicit keys.  Without them the standard credential chain is used: environment
        variables, ``~/.aws/credentials`` and ``~/.aws/config``, SSO, container and
        instance roles.
    profile : str, optional
        A named profile from the AWS config files.
    anon : bool, default False
        Unsigned requests (public buckets).
    read_only : bool, default False
    max_concurrency : int, default 32
        Requests in flight for batch operations; also the HTTP connection pool size.
    retries : RetryPolicy, dict or int, optional
        Backoff for throttling (503 SlowDown, 429), 5xx, timeouts and resets.
    connect_timeout, read_timeout : float
        Seconds.
    client_kwargs : dict, optional
        Extra keywords for ``boto3.session.Session.client`` (non-secret).
    fast_path : bool, default True
        Send object GET, PUT and HEAD requests through zarrfast's own SigV4 signer and
        urllib3 (about half boto3's CPU per request), with boto3 resolving credentials,
        endpoint and addressing style and doing everything else.  Used only when the
        configuration is one it fully understands (no HTTP proxy in the environment,
        ``client_kwargs`` among region_name/endpoint_url/verify/use_ssl/config without
        proxies or client certificates); redirects and unexpected answers go to boto3.
        ``False`` sends every request through boto3.

    Notes
    -----
    Byte ranges use HTTP ``Range`` headers (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``),
    so a sharded array reads only its shard index and the inner chunks it needs.
    ``delete_prefix`` lists with pagination and removes 1000 keys per request.
    botocore's own retries are switched off so that :class:`RetryPolicy` is the single,
    bounded retry loop.
    """

    backend_name: ClassVar[str] = "s3"
    container_kind: ClassVar[str] = "S3 bucket"
    secret_options: ClassVar[tuple[str, ...]] = ("aws_secret_access_key", "aws_session_token")

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile: str | None = None,
        anon: bool = False,
        read_only: bool = False,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retries: RetryPolicy | dict[str, Any] | int | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        client_kwargs: dict[str, Any] | None = None,
        fast_path: bool = True,
    ) -> None:
        if not bucket or not isinstance(bucket, str):
            raise ValueError(f"expected a bucket name, got {bucket!r}")
        self._boto3 = import_sdk("boto3", "s3")
        self._botocore_exc = import_sdk("botocore.exceptions", "s3")
        super().__init__(
            prefix=prefix, read_only=read_only, max_concurrency=max_concurrency, retries=retries
        )
        self.bucket = bucket
        self._opts: dict[str, Any] = {
            "region": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
            "profile": profile,
            "anon": bool(anon),
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "client_kwargs": dict(client_kwargs or {}),
            "fast_path": bool(fast_path),
        }

    # ------------------------------------------------------------------ client
    def _session(self) -> tuple[Any, threading.Lock]:
        """A boto3 session for these credential options, shared within the process."""
        o = self._opts
        key = (
            os.getpid(),
            o["aws_access_key_id"],
            o["aws_secret_access_key"],
            o["aws_session_token"],
            o["profile"],
            o["region"],
            tuple(os.environ.get(v) for v in _CREDENTIAL_ENV),
        )
        with _SESSIONS_LOCK:
            hit = _SESSIONS.get(key)
            if hit is None:
                if len(_SESSIONS) >= 32:
                    _SESSIONS.clear()
                session = self._boto3.session.Session(
                    aws_access_key_id=o["aws_access_key_id"],
                    aws_secret_access_key=o["aws_secret_access_key"],
                    aws_session_token=o["aws_session_token"],
                    profile_name=o["profile"],
                    region_name=o["region"],
                )
                hit = _SESSIONS[key] = (session, threading.Lock())
        return hit

    def _connect(self) -> Any:
        import botocore
        from botocore.config import Config

        o = self._opts
        session, lock = self._session()
        config = Config(
            max_pool_connections=max(self._max_concurrency, 10),
            connect_timeout=o["connect_timeout"],
            read_timeout=o["read_timeout"],
            retries={"total_max_attempts": 1},  # RetryPolicy does the retrying
            # S3-compatible services often reject the newer default CRC trailers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            signature_version=botocore.UNSIGNED if o["anon"] else None,
        )
        kwargs = dict(o["client_kwargs"])
        if kwargs.get("config") is not None:
            config = config.merge(kwargs.pop("config"))
        if o["endpoint_url"]:
            kwargs["endpoint_url"] = o["endpoint_url"]
        with lock:  # a boto3 session is not thread-safe
            if session.region_name is None:
                kwargs.setdefault("region_name", "us-east-1")
            boto = session.client("s3", config=config, **kwargs)
            creds = None if o["anon"] else session.get_credentials()
        fast = None
        if self._fast_allowed(config) and (creds is not None or o["anon"]):
            from zarrfast.storage._s3fast import FastS3

            try:
                fast = FastS3(
                    boto,
                    creds,
                    self.bucket,
                    maxsize=max(self._max_concurrency, 10),
                    connect_timeout=o["connect_timeout"],
                    read_timeout=o["read_timeout"],
                    verify=o["client_kwargs"].get("verify"),
                )
            except ValueError:
                fast = None  # an endpoint layout it does not know: boto3 for everything
        return _Clients(boto, fast)

    def _fast_allowed(self, config: Any) -> bool:
        o = self._opts
        if not o["fast_path"] or set(o["client_kwargs"]) - _FAST_CLIENT_KWARGS:
            return False
        if getattr(config, "proxies", None) or getattr(config, "client_cert", None):
            return False
        return not any(os.environ.get(v) for v in _PROXY_ENV)

    def _disconnect(self, client: Any) -> None:
        if client.fast is not None:
            client.fast.close()
        client.boto.close()

    def _container_name(self) -> str:
        return self.bucket

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        bex = self._botocore_exc
        if isinstance(exc, bex.ClientError):
            err = exc.response.get("Error", {}) or {}
            code = str(err.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _CONTAINER:
                return ErrorKind.CONTAINER
            if code in ("InvalidRange", "416") or status == 416:
                return ErrorKind.RANGE
            if code in _NOT_FOUND or (status == 404 and code not in _CONTAINER):
                return ErrorKind.NOT_FOUND
            if code in _AUTH:
                return ErrorKind.AUTH
            if code in _DENIED or status == 403:
                return ErrorKind.DENIED
            if code in _TRANSIENT or status in (429, 500, 502, 503, 504):
                return ErrorKind.TRANSIENT
            if status == 401:
                return ErrorKind.AUTH
            return ErrorKind.OTHER
        if isinstance(
            exc,
            (
                bex.NoCredentialsError,
                bex.PartialCredentialsError,
                bex.CredentialRetrievalError,
                bex.TokenRetrievalError,
                bex.ProfileNotFound,
            ),
        ):
            return ErrorKind.AUTH
        if isinstance(
            exc,
            (
                bex.HTTPClientError,
                bex.ConnectionError,
                bex.IncompleteReadError,
                bex.ResponseStreamingError,
            ),
        ):
            return ErrorKind.TRANSIENT  # resets, timeouts, closed connections
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return ErrorKind.TRANSIENT
        import urllib3.exceptions

        if isinstance(exc, urllib3.exceptions.HTTPError):
            return ErrorKind.TRANSIENT  # the lean path's resets, timeouts, refused connections
        if isinstance(exc, bex.BotoCoreError):
            return ErrorKind.OTHER
        return None

    # ------------------------------------------------------------------ operations
    def _op_get(self, client: Any, path: str, rng: HttpRange | None) -> bytes | None:
        if client.fast is not None:
            try:
                got: bytes
                got, partial = client.fast.get(path, rng.header() if rng is not None else None)
            except Fallback:
                pass
            else:
                return got if rng is None or partial else _cut(got, rng)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": path}
        if rng is not None:
            kwargs["Range"] = rng.header()
        resp = client.boto.get_object(**kwargs)
        body = resp["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        if rng is not None and not resp.get("ContentRange"):
            data = _cut(data, rng)  # the server ignored Range and sent the whole object
        return data

    def _op_put(self, client: Any, path: str, data: bytes) -> None:
        if client.fast is not None:
            try:
                return client.fast.put(path, data)  # type: ignore[no-any-return]
            except Fallback:
                pass
        client.boto.put_object(Bucket=self.bucket, Key=path, Body=data)
        return None

    def _op_delete(self, client: Any, path: str) -> None:
        client.boto.delete_object(Bucket=self.bucket, Key=path)

    def _op_delete_batch(self, client: Any, paths: list[str]) -> None:
        if len(paths) == 1:
            return self._op_delete(client, paths[0])
        resp = client.boto.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": p} for p in paths], "Quiet": True},
        )
        errors = [e for e in resp.get("Errors", []) if e.get("Code") != "NoSuchKey"]
        if errors:
            first = errors[0]
            raise self._botocore_exc.ClientError(
                {
                    "Error": {
                        "Code": first.get("Code", ""),
                        "Message": f"{len(errors)} of {len(paths)} deletes failed, first "
                        f"{first.get('Key')!r}: {first.get('Message', '')}",
                    }
                },
                "DeleteObjects",
            )
        return None

    def _op_size(self, client: Any, path: str) -> int | None:
        if client.fast is not None:
            try:
                return client.fast.size(path)  # type: ignore[no-any-return]
            except Fallback:
                pass
        return int(client.boto.head_object(Bucket=self.bucket, Key=path)["ContentLength"])

    def _op_list(self, client: Any, path_prefix: str) -> Iterator[tuple[str, int]]:
        pages = client.boto.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=path_prefix
        )
        for page in pages:
            for obj in page.get("Contents", ()):
                yield obj["Key"], int(obj.get("Size", 0))

    def _op_list_dir(self, client: Any, dir_path: str) -> Iterator[str]:
        pages = client.boto.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=dir_path, Delimiter="/"
        )
        n = len(dir_path)
        for page in pages:
            for cp in page.get("CommonPrefixes", ()):
                yield cp["Prefix"][n:].rstrip("/")
            for obj in page.get("Contents", ()):
                yield obj["Key"][n:]

    # ------------------------------------------------------------------ identity
    def _pickle_config(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": self._prefix,
            **self._opts,
            "read_only": self._read_only,
            "max_concurrency": self._max_concurrency,
            "retries": self._retry,
        }

    def _repr_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"bucket": self.bucket, "prefix": self._prefix}
        endpoint = (
            self._opts["endpoint_url"]
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        if endpoint:
            fields["endpoint_url"] = endpoint
        if self._opts["region"]:
            fields["region"] = self._opts["region"]
        if self._opts["profile"]:
            fields["profile"] = self._opts["profile"]
        return fields


def _cut(data: bytes, rng: HttpRange) -> bytes:
    """``rng`` of a whole object (for servers that ignore ``Range``)."""
    from zarrfast.abc.store import (
        OffsetByteRequest,
        RangeByteRequest,
        SuffixByteRequest,
        apply_byte_range,
    )

    if rng.suffix is not None:
        req: Any = SuffixByteRequest(rng.suffix)
    elif rng.end is None:
        req = OffsetByteRequest(rng.start or 0)
    else:
        req = RangeByteRequest(rng.start or 0, rng.end + 1)
    return bytes(apply_byte_range(data, req))
