"""Azure Blob Storage via azure-storage-blob (and azure-identity for managed identity).

Blobs are named exactly like the Zarr keys under ``prefix``
(``https://account.blob.core.windows.net/container/prefix/zarr.json``), so other Zarr
tools read the same container.  ``account_url=`` (alias ``endpoint=``) points the store
at Azurite or another endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from zarrfast.storage._remote import (
    DEFAULT_MAX_CONCURRENCY,
    ErrorKind,
    HttpRange,
    RemoteStore,
    RetryPolicy,
    import_sdk,
)

__all__ = ["AzureBlobStore"]

_AUTH_CODES = {
    "AuthenticationFailed",
    "InvalidAuthenticationInfo",
    "NoAuthenticationInformation",
    "InvalidAccessKey",
    "ExpiredAuthenticationToken",
}
_DENIED_CODES = {
    "AuthorizationFailure",
    "AuthorizationPermissionMismatch",
    "AuthorizationResourceTypeMismatch",
    "AuthorizationSourceIPMismatch",
    "AuthorizationProtocolMismatch",
    "AuthorizationServiceMismatch",
    "InsufficientAccountPermissions",
    "AccountIsDisabled",
}
_CONTAINER_CODES = {"ContainerNotFound", "ContainerBeingDeleted", "ResourceNotFound"}
_TRANSIENT_CODES = {"ServerBusy", "OperationTimedOut", "InternalError", "IngressOverAccountLimit"}


def _connection_string_field(conn: str, name: str) -> str | None:
    for part in conn.split(";"):
        k, _, v = part.partition("=")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


class AzureBlobStore(RemoteStore):
    """A store in an Azure Blob Storage container.

    Parameters
    ----------
    account_name : str, optional
        Storage account; needed unless ``connection_string`` or ``account_url`` names it.
    container : str
        Container name.
    prefix : str, optional
        Blob-name prefix inside the container.
    account_key : str, optional
        Shared key (base64).  Secret.
    sas_token : str, optional
        Shared access signature (with or without the leading ``?``).  Secret.
    connection_string : str, optional
        A full connection string (``DefaultEndpointsProtocol=...;AccountKey=...``).  Secret.
    use_managed_identity : bool, default False
        Authenticate with azure-identity's ``DefaultAzureCredential`` (managed identity,
        workload identity, environment, Azure CLI...).
    account_url : str, optional
        Endpoint override, e.g. ``http://127.0.0.1:10000/devstoreaccount1`` for Azurite.
        ``endpoint`` is accepted as an alias.
    read_only, max_concurrency, retries
        As for every remote store.
    timeout : float
        Seconds per request.

    Notes
    -----
    Exactly one of ``account_key``, ``sas_token``, ``connection_string`` or
    ``use_managed_identity=True`` may be given; with none the requests are anonymous
    (public containers).  Azure has no suffix ranges, so a suffix read asks for the
    blob's size first (two round trips).  The SDK's own retries are off: one bounded
    :class:`RetryPolicy` handles 503 ServerBusy, 500, timeouts and resets.
    """

    backend_name: ClassVar[str] = "azure_blob"
    container_kind: ClassVar[str] = "Azure container"
    secret_options: ClassVar[tuple[str, ...]] = ("account_key", "sas_token", "connection_string")
    delete_batch_size: ClassVar[int] = 1  # one DELETE per blob, issued concurrently

    def __init__(
        self,
        account_name: str | None = None,
        container: str | None = None,
        prefix: str = "",
        *,
        account_key: str | None = None,
        sas_token: str | None = None,
        connection_string: str | None = None,
        use_managed_identity: bool = False,
        account_url: str | None = None,
        endpoint: str | None = None,
        read_only: bool = False,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retries: RetryPolicy | dict[str, Any] | int | None = None,
        timeout: float = 60.0,
    ) -> None:
        if not container or not isinstance(container, str):
            raise ValueError(f"expected a container name, got {container!r}")
        given = [
            n
            for n, v in (
                ("account_key", account_key),
                ("sas_token", sas_token),
                ("connection_string", connection_string),
                ("use_managed_identity", use_managed_identity),
            )
            if v
        ]
        if len(given) > 1:
            raise ValueError(f"expected at most one credential option, got {given}")
        if account_url and endpoint and account_url != endpoint:
            raise ValueError("account_url and endpoint are aliases; give one of them")
        account_url = account_url or endpoint
        if connection_string and account_name is None:
            account_name = _connection_string_field(connection_string, "AccountName")
        if not (account_name or account_url or connection_string):
            raise ValueError("expected account_name, account_url or connection_string")
        self._blob = import_sdk("azure.storage.blob", "azure")
        self._aexc = import_sdk("azure.core.exceptions", "azure")
        super().__init__(
            prefix=prefix, read_only=read_only, max_concurrency=max_concurrency, retries=retries
        )
        self.account_name = account_name
        self.container = container
        self._account_key = account_key
        self._sas_token = sas_token.lstrip("?") if sas_token else sas_token
        self._connection_string = connection_string
        self._use_managed_identity = bool(use_managed_identity)
        self._account_url = account_url.rstrip("/") if account_url else None
        self._timeout = timeout

    # ------------------------------------------------------------------ client
    def _url(self) -> str:
        if self._account_url:
            return self._account_url
        return f"https://{self.account_name}.blob.core.windows.net"

    def _connect(self) -> Any:
        import requests
        from azure.core.pipeline.transport import RequestsTransport

        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=4, pool_maxsize=max(self._max_concurrency, 10), max_retries=0
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        common: dict[str, Any] = {
            "transport": RequestsTransport(session=session, session_owner=True),
            "retry_total": 0,  # RetryPolicy does the retrying
            "connection_timeout": min(self._timeout, 20.0),
            "read_timeout": self._timeout,
        }
        svc = self._blob.BlobServiceClient
        if self._connection_string:
            if self._account_url:
                common["account_url"] = self._account_url
            client = svc.from_connection_string(self._connection_string, **common)
        else:
            credential: Any = None
            if self._account_key:
                credential = {"account_name": self.account_name, "account_key": self._account_key}
            elif self._sas_token:
                credential = self._sas_token
            elif self._use_managed_identity:
                identity = import_sdk("azure.identity", "azure")
                credential = identity.DefaultAzureCredential()
            client = svc(self._url(), credential=credential, **common)
        return client.get_container_client(self.container)

    def _disconnect(self, client: Any) -> None:
        client.close()

    def _container_name(self) -> str:
        return self.container

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        a = self._aexc
        if not isinstance(exc, a.AzureError):
            if isinstance(exc, (ConnectionError, TimeoutError)):
                return ErrorKind.TRANSIENT
            return None
        code = str(getattr(exc, "error_code", None) or "")
        status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(
            exc, "status_code", None
        )
        if code in _CONTAINER_CODES and code != "ResourceNotFound":
            return ErrorKind.CONTAINER
        if code == "InvalidRange" or status == 416:
            return ErrorKind.RANGE
        if isinstance(exc, a.ResourceNotFoundError) or status == 404:
            return ErrorKind.NOT_FOUND
        if "failed to authenticate" in str(getattr(exc, "message", "") or exc).lower():
            return ErrorKind.AUTH  # bad key/signature (Azurite says AuthorizationFailure)
        if code in _DENIED_CODES:
            return ErrorKind.DENIED
        if code in _AUTH_CODES or isinstance(exc, a.ClientAuthenticationError) or status == 401:
            return ErrorKind.AUTH
        if status == 403:
            return ErrorKind.DENIED
        if code in _TRANSIENT_CODES or status in (408, 429, 500, 502, 503, 504):
            return ErrorKind.TRANSIENT
        if isinstance(exc, (a.ServiceRequestError, a.ServiceResponseError)):
            return ErrorKind.TRANSIENT  # connection refused/reset, timeouts
        return ErrorKind.OTHER

    # ------------------------------------------------------------------ operations
    def _op_get(self, client: Any, path: str, rng: HttpRange | None) -> bytes | None:
        kw: dict[str, Any] = {"max_concurrency": 1, "timeout": self._timeout}
        if rng is not None:
            if rng.suffix is not None:
                size = self._op_size(client, path)
                if size is None:
                    return None
                start = max(size - rng.suffix, 0)
                if start >= size:
                    return b""
                kw.update(offset=start, length=size - start)
            else:
                kw["offset"] = rng.start
                if rng.end is not None:
                    kw["length"] = rng.end - (rng.start or 0) + 1
        return bytes(client.download_blob(path, **kw).readall())

    def _op_put(self, client: Any, path: str, data: bytes) -> None:
        client.upload_blob(path, data, overwrite=True, max_concurrency=1, timeout=self._timeout)

    def _op_delete(self, client: Any, path: str) -> None:
        try:
            client.delete_blob(path, timeout=self._timeout)
        except self._aexc.ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) in _CONTAINER_CODES - {"ResourceNotFound"}:
                raise

    def _op_size(self, client: Any, path: str) -> int | None:
        props = client.get_blob_client(path).get_blob_properties(timeout=self._timeout)
        return int(props.size)

    def _op_list(self, client: Any, path_prefix: str) -> Iterator[tuple[str, int]]:
        for blob in client.list_blobs(name_starts_with=path_prefix or None, timeout=self._timeout):
            yield blob.name, int(blob.size or 0)

    def _op_list_dir(self, client: Any, dir_path: str) -> Iterator[str]:
        n = len(dir_path)
        for item in client.walk_blobs(name_starts_with=dir_path or None, delimiter="/"):
            yield item.name[n:].rstrip("/")

    # ------------------------------------------------------------------ identity
    def _pickle_config(self) -> dict[str, Any]:
        return {
            "account_name": self.account_name,
            "container": self.container,
            "prefix": self._prefix,
            "account_key": self._account_key,
            "sas_token": self._sas_token,
            "connection_string": self._connection_string,
            "use_managed_identity": self._use_managed_identity,
            "account_url": self._account_url,
            "read_only": self._read_only,
            "max_concurrency": self._max_concurrency,
            "retries": self._retry,
            "timeout": self._timeout,
        }

    def _repr_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "account_name": self.account_name,
            "container": self.container,
            "prefix": self._prefix,
        }
        if self._account_url:
            fields["account_url"] = self._account_url.split("?", 1)[0]
        auth = (
            "account_key"
            if self._account_key
            else "sas_token"
            if self._sas_token
            else "connection_string"
            if self._connection_string
            else "managed_identity"
            if self._use_managed_identity
            else "anonymous"
        )
        fields["auth"] = auth
        return fields
