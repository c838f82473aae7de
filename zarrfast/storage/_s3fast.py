"""The lean S3 data path: object GET (whole or ranged), PUT and HEAD signed with SigV4
here and sent with urllib3, skipping botocore's per-request machinery (event hooks,
model-driven serialisation, response parsing): about half the client CPU per request.

boto3 still does everything else for :class:`~zarrfast.storage.s3.S3Store`: credential
resolution (keys, profiles, SSO, roles, with refresh), endpoint and addressing-style
resolution, listings, batch deletes, and any request this path hands back
(:class:`Fallback`: redirects, unexpected answers).  Errors are raised as botocore's own
``ClientError`` / connection errors, so the store classifies them exactly as before.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import threading
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["Fallback", "FastS3"]

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNSIGNED = "UNSIGNED-PAYLOAD"


class Fallback(Exception):
    """This request is for boto3 (a redirect or an answer this path does not parse)."""


def _error_code(body: bytes) -> tuple[str, str]:
    """``(Code, Message)`` of an S3 XML error body ("" when absent or not XML)."""
    if not body:
        return "", ""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body[:65536])  # an error document is small; never parse more
    except ET.ParseError:
        return "", body[:200].decode("utf-8", "replace")
    code = root.findtext("Code") or ""
    msg = root.findtext("Message") or ""
    return code, msg


class FastS3:
    """GET/PUT/HEAD of objects of one bucket, signed with the boto3 client's credentials.

    ``client`` is the store's boto3 client: its endpoint, addressing style and region are
    read once (from a presigned URL, which does no I/O), its credentials on every request
    (``get_frozen_credentials`` refreshes expiring ones).
    """

    def __init__(
        self,
        client: Any,
        credentials: Any,
        bucket: str,
        *,
        maxsize: int,
        connect_timeout: float,
        read_timeout: float,
        verify: bool | str | None,
    ) -> None:
        import urllib3
        from botocore.httpsession import get_cert_path

        probe = "zarrfast-probe-key"
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": probe}, ExpiresIn=60
        )
        parts = urlsplit(url)
        if not parts.path.endswith("/" + probe):
            raise ValueError(f"cannot derive the object URL layout from {parts.path!r}")
        self.scheme = parts.scheme
        self.host = parts.netloc
        self.base_path = parts.path[: -len(probe)]  # "/bucket/" (path style) or "/"
        self.region = client.meta.region_name or "us-east-1"
        self.credentials = credentials  # None: unsigned (anonymous) requests
        self.sign_payload = self.scheme == "http"  # botocore signs bodies over plain HTTP
        self._keys: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        kw: dict[str, Any] = {
            "maxsize": maxsize,
            "block": False,
            "retries": False,  # RetryPolicy is the one retry loop
            "timeout": urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        }
        if self.scheme == "https":
            cert = get_cert_path(True if verify is None else verify)
            if verify is False:
                kw["cert_reqs"] = "CERT_NONE"
            else:
                kw["cert_reqs"] = "CERT_REQUIRED"
                if isinstance(cert, str):
                    kw["ca_certs"] = cert
        self._http = urllib3.PoolManager(**kw)
        self._origin = f"{self.scheme}://{self.host}"

    def close(self) -> None:
        self._http.clear()

    # ------------------------------------------------------------------ signing
    def _signing_key(self, secret: str, day: str) -> bytes:
        k = self._keys.get((secret, day))
        if k is None:
            k = hmac.new(("AWS4" + secret).encode(), day.encode(), hashlib.sha256).digest()
            for part in (self.region, "s3", "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            with self._lock:
                if len(self._keys) > 8:
                    self._keys.clear()
                self._keys[(secret, day)] = k
        return k

    def _headers(
        self, method: str, path: str, extra: dict[str, str], body: bytes
    ) -> dict[str, str]:
        headers = {"host": self.host, **extra}
        if self.credentials is None:
            return headers
        creds = self.credentials.get_frozen_credentials()
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        if method == "PUT" and self.sign_payload:
            payload = hashlib.sha256(body).hexdigest()
        elif method == "PUT":
            payload = _UNSIGNED
        else:
            payload = _EMPTY_SHA256
        headers["x-amz-content-sha256"] = payload
        headers["x-amz-date"] = amz_date
        if creds.token:
            headers["x-amz-security-token"] = creds.token
        names = sorted(headers)
        canonical = "\n".join(
            [
                method,
                path,
                "",
                "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names),
                ";".join(names),
                payload,
            ]
        )
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                amz_date,
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        sig = hmac.new(
            self._signing_key(creds.secret_key, day), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={sig}"
        )
        return headers

    # ------------------------------------------------------------------ requests
    def _request(
        self, method: str, key: str, extra: dict[str, str] | None = None, body: bytes = b""
    ) -> Any:
        from botocore.exceptions import ClientError

        path = self.base_path + quote(key, safe="/~")
        headers = self._headers(method, path, extra or {}, body)
        resp = self._http.request(
            method,
            self._origin + path,
            body=body if method == "PUT" else None,
            headers=headers,
            preload_content=True,
            redirect=False,
        )
        status = resp.status
        if status < 300:
            return resp
        if status < 400:
            raise Fallback(f"{method} answered {status}")
        code, msg = _error_code(resp.data if method != "HEAD" else b"")
        if code in ("PermanentRedirect", "TemporaryRedirect", "AuthorizationHeaderMalformed"):
            raise Fallback(f"{method} answered {status} {code}")  # wrong region: boto3 redirects
        op = {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject"}[method]
        raise ClientError(
            {
                "Error": {"Code": code or str(status), "Message": msg or resp.reason or ""},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            op,
        )

    def get(self, key: str, range_header: str | None) -> tuple[bytes, bool]:
        """``(body, is_partial)``: ``is_partial`` is False when the server ignored Range."""
        resp = self._request("GET", key, {"range": range_header} if range_header else None)
        return resp.data, resp.status == 206

    def put(self, key: str, data: bytes) -> None:
        self._request("PUT", key, None, data)

    def size(self, key: str) -> int:
        resp = self._request("HEAD", key)
        return int(resp.headers["content-length"])
