"""Google Cloud Storage via google-cloud-storage.

Objects are named exactly like the Zarr keys under ``prefix`` (``gs://bucket/prefix/zarr.json``,
``.../c/0/0``), so other Zarr tools read the same bucket.  ``STORAGE_EMULATOR_HOST`` (or
``endpoint_url=``) points the store at an emulator such as gcp-storage-emulator or
fake-gcs-server; credentials are then anonymous unless given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from zarrfast.storage._remote import (
    DEFAULT_MAX_CONCURRENCY,
    ErrorKind,
    HttpRange,
    RemoteStore,
    RetryPolicy,
    import_sdk,
)

__all__ = ["GCSStore"]

_SCOPES = ("https://www.googleapis.com/auth/devstorage.read_write",)


class GCSStore(RemoteStore):
    """A store in a Google Cloud Storage bucket.

    Parameters
    ----------
    bucket : str
        Bucket name (without ``gs://``).
    prefix : str, optional
        Object-name prefix inside the bucket.
    credentials : str, dict, google.auth credentials, or "anon", optional
        A service-account JSON key file path, the parsed key (dict), a
        ``google.auth.credentials.Credentials`` object, or ``"anon"``.  Default:
        application-default credentials (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's
        user credentials, or the GCE/GKE metadata server); anonymous with an emulator.
    project : str, optional
        Billing/project id (default from the credentials or ``GOOGLE_CLOUD_PROJECT``).
    endpoint_url : str, optional
        API endpoint override; default ``STORAGE_EMULATOR_HOST`` if set, else Google's.
    read_only, max_concurrency, retries
        As for every remote store (see :class:`~zarrfast.storage._remote.RemoteStore`).
    timeout : float
        Seconds per HTTP request.

    Notes
    -----
    The SDK's own retries are disabled (``retry=None``) so that one bounded
    :class:`RetryPolicy` handles 429/5xx, timeouts and connection resets.  Byte ranges
    are HTTP ``Range`` requests; downloads are raw (no decompressive transcoding) so the
    bytes are exactly those stored.  A ``credentials`` object that cannot be pickled
    makes the store unpicklable; pass a key file path to send a store to dask workers.
    """

    backend_name: ClassVar[str] = "gcs"
    container_kind: ClassVar[str] = "GCS bucket"
    delete_batch_size: ClassVar[int] = 1  # one DELETE per object, issued concurrently

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        credentials: Any = None,
        project: str | None = None,
        endpoint_url: str | None = None,
        read_only: bool = False,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retries: RetryPolicy | dict[str, Any] | int | None = None,
        timeout: float = 60.0,
    ) -> None:
        if not bucket or not isinstance(bucket, str):
            raise ValueError(f"expected a bucket name, got {bucket!r}")
        if bucket.startswith("gs://"):
            bucket = bucket[5:]
        self._storage = import_sdk("google.cloud.storage", "gcs")
        self._gexc = import_sdk("google.api_core.exceptions", "gcs")
        self._auth_exc = import_sdk("google.auth.exceptions", "gcs")
        import requests

        self._requests = requests
        super().__init__(
            prefix=prefix, read_only=read_only, max_concurrency=max_concurrency, retries=retries
        )
        self.bucket = bucket
        self._credentials = credentials
        self._project = project
        self._endpoint_url = endpoint_url
        self._timeout = timeout

    # ------------------------------------------------------------------ client
    def _endpoint(self) -> str | None:
        if self._endpoint_url:
            return self._endpoint_url
        host = os.environ.get("STORAGE_EMULATOR_HOST")
        if host:
            return host if "://" in host else f"http://{host}"
        return None

    def _make_credentials(self) -> Any:
        creds = self._credentials
        endpoint = self._endpoint()
        if creds == "anon" or (creds is None and endpoint is not None):
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()
        if creds is None:
            import google.auth

            found, _project = google.auth.default(scopes=_SCOPES)
            return found
        from google.oauth2 import service_account

        if isinstance(creds, (str, os.PathLike)):
            return service_account.Credentials.from_service_account_file(
                os.fspath(creds), scopes=_SCOPES
            )
        if isinstance(creds, Mapping):
            return service_account.Credentials.from_service_account_info(
                dict(creds), scopes=_SCOPES
            )
        return creds  # a google.auth Credentials object

    def _connect(self) -> Any:
        credentials = self._make_credentials()
        project = self._project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if project is None:
            project = getattr(credentials, "project_id", None) or "<none>"
        options: dict[str, Any] = {}
        endpoint = self._endpoint()
        if endpoint:
            options["api_endpoint"] = endpoint
        client = self._storage.Client(
            project=project, credentials=credentials, client_options=options or None
        )
        # One keep-alive connection per concurrent request (requests' default is 10).
        adapter = self._requests.adapters.HTTPAdapter(
            pool_connections=4, pool_maxsize=max(self._max_concurrency, 10), max_retries=0
        )
        client._http.mount("https://", adapter)
        client._http.mount("http://", adapter)
        return client

    def _disconnect(self, client: Any) -> None:
        client.close()

    def _container_name(self) -> str:
        return self.bucket

    def _secrets(self) -> list[str]:
        creds = self._credentials
        if isinstance(creds, Mapping):
            return [str(creds[k]) for k in ("private_key", "private_key_id") if creds.get(k)]
        return []

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        g = self._gexc
        if isinstance(exc, g.RequestRangeNotSatisfiable):
            return ErrorKind.RANGE
        if isinstance(exc, g.NotFound):
            text = str(exc).lower()
            if "bucket does not exist" in text or "bucket not found" in text:
                return ErrorKind.CONTAINER
            return ErrorKind.NOT_FOUND
        if isinstance(exc, g.Unauthorized):
            return ErrorKind.AUTH
        if isinstance(exc, g.Forbidden):
            text = str(exc).lower()
            if "invalid credentials" in text or "expired" in text:
                return ErrorKind.AUTH
            return ErrorKind.DENIED
        if isinstance(
            exc,
            (
                g.TooManyRequests,
                g.InternalServerError,
                g.BadGateway,
                g.ServiceUnavailable,
                g.GatewayTimeout,
            ),
        ):
            return ErrorKind.TRANSIENT
        if isinstance(exc, (self._auth_exc.RefreshError, self._auth_exc.DefaultCredentialsError)):
            return ErrorKind.AUTH
        if isinstance(exc, self._auth_exc.TransportError):
            return ErrorKind.TRANSIENT
        rexc = self._requests.exceptions
        if isinstance(
            exc,
            (
                rexc.ConnectionError,
                rexc.Timeout,
                rexc.ChunkedEncodingError,
                ConnectionError,
                TimeoutError,
            ),
        ):
            return ErrorKind.TRANSIENT
        if isinstance(exc, g.GoogleAPICallError):
            return ErrorKind.OTHER
        if isinstance(exc, FileNotFoundError) and self._credentials is not None:
            return ErrorKind.AUTH  # service-account key file missing
        return None

    # ------------------------------------------------------------------ operations
    def _op_get(self, client: Any, path: str, rng: HttpRange | None) -> bytes | None:
        blob = client.bucket(self.bucket).blob(path)
        kw: dict[str, Any] = {
            "checksum": None,
            "raw_download": True,
            "retry": None,
            "timeout": self._timeout,
        }
        if rng is None:
            return bytes(blob.download_as_bytes(**kw))
        if rng.suffix is not None:
            data = blob.download_as_bytes(start=-rng.suffix, end=None, **kw)
            # Some emulators ignore suffix ranges and send everything: cut it here.
            return bytes(data[-rng.suffix :]) if len(data) > rng.suffix else bytes(data)
        data = blob.download_as_bytes(start=rng.start, end=rng.end, **kw)
        if rng.end is not None and len(data) > rng.end - (rng.start or 0) + 1:
            data = data[rng.start : rng.end + 1]  # the Range header was ignored
        return bytes(data)

    def _op_put(self, client: Any, path: str, data: bytes) -> None:
        blob = client.bucket(self.bucket).blob(path)
        blob.upload_from_string(
            data,
            content_type="application/octet-stream",
            retry=None,
            timeout=self._timeout,
            checksum=None,
        )

    def _op_delete(self, client: Any, path: str) -> None:
        with contextlib.suppress(self._gexc.NotFound):
            client.bucket(self.bucket).blob(path).delete(retry=None, timeout=self._timeout)

    def _op_size(self, client: Any, path: str) -> int | None:
        blob = client.bucket(self.bucket).get_blob(path, retry=None, timeout=self._timeout)
        return None if blob is None else int(blob.size or 0)

    def _op_list(self, client: Any, path_prefix: str) -> Iterator[tuple[str, int]]:
        for blob in client.list_blobs(
            self.bucket, prefix=path_prefix, retry=None, timeout=self._timeout
        ):
            yield blob.name, int(blob.size or 0)

    def _op_list_dir(self, client: Any, dir_path: str) -> Iterator[str]:
        it = client.list_blobs(
            self.bucket, prefix=dir_path, delimiter="/", retry=None, timeout=self._timeout
        )
        n = len(dir_path)
        names = [blob.name[n:] for blob in it]  # consuming the pages fills it.prefixes
        return iter([p[n:].rstrip("/") for p in it.prefixes] + names)

    # ------------------------------------------------------------------ identity
    def _pickle_config(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": self._prefix,
            "credentials": self._credentials,
            "project": self._project,
            "endpoint_url": self._endpoint_url,
            "read_only": self._read_only,
            "max_concurrency": self._max_concurrency,
            "retries": self._retry,
            "timeout": self._timeout,
        }

    def _repr_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"bucket": self.bucket, "prefix": self._prefix}
        if self._project:
            fields["project"] = self._project
        endpoint = self._endpoint()
        if endpoint:
            fields["endpoint_url"] = endpoint
        creds = self._credentials
        if isinstance(creds, (str, os.PathLike)):
            fields["credentials"] = os.fspath(creds)  # a file path, not the key itself
        elif creds is not None:
            fields["credentials"] = f"<{type(creds).__name__}>"
        return fields
