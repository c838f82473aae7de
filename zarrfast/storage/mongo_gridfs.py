"""MongoDB GridFS via pymongo.

Every Zarr key is one GridFS file named ``array_id/key`` (``experiment_001/zarr.json``,
``experiment_001/c/0/0``) in the bucket ``bucket`` (collections ``<bucket>.files`` and
``<bucket>.chunks``) of ``database``.  The documents follow the GridFS specification
(``filename``, ``length``, ``chunkSize``, ``uploadDate``; chunks ``files_id``, ``n``,
``data``), so ``gridfs.GridFSBucket``, ``mongofiles`` or other GridFS tools read them.

The store talks to the two collections directly instead of through
``gridfs.GridFSBucket`` so that it only ever issues *equality* queries: some
wire-compatible servers (nx-27017, used by the tests) do not answer ``$regex``, range
(``$gte``) or ``$in`` queries on GridFS collections -- and a ``$regex`` may even
silently return nothing.  Hence listing scans the bucket's ``files`` collection with an
empty filter (projection ``filename``/``length`` only) and filters by prefix in Python;
``server_side_prefix=True`` uses an anchored ``$regex`` instead (index-backed on a real
MongoDB, recommended there for buckets holding many arrays).
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from zarrfast.storage._remote import (
    DEFAULT_MAX_CONCURRENCY,
    ErrorKind,
    HttpRange,
    RemoteStore,
    RetryPolicy,
    import_sdk,
    redact_url_password,
)

__all__ = ["MongoGridFSStore"]

#: GridFS's default chunk size (255 KiB keeps each chunk document well under 16 MB).
DEFAULT_CHUNK_SIZE = 255 * 1024
_DENIED_CODES = {13, 8000}  # Unauthorized, Atlas AtlasError (permission)


class _Replaced(Exception):
    """A file's chunks vanished while reading it: a concurrent overwrite; read again."""


def _order(doc: dict[str, Any]) -> tuple[str, str]:
    # uploadDate is a datetime on MongoDB but may come back as an ISO string from
    # emulators; comparing ISO strings orders them the same way.  _id breaks ties
    # between uploads in the same millisecond.
    date = doc.get("uploadDate")
    if isinstance(date, datetime.datetime):
        date = date.replace(tzinfo=None).isoformat()
    return (str(date or ""), str(doc.get("_id")))


class MongoGridFSStore(RemoteStore):
    """A store in MongoDB GridFS.

    Parameters
    ----------
    url : str
        MongoDB connection string (``mongodb://user:password@host:27017/?authSource=admin``);
        the password is a secret and never shown.
    database : str
        Database name.
    bucket : str, default "fs"
        GridFS bucket name.
    array_id : str
        Namespace of this array/hierarchy inside the bucket; keys are stored as GridFS
        filenames ``array_id/key``.
    chunk_size : int
        GridFS chunk size in bytes for new files.
    server_side_prefix : bool, default False
        List with an anchored ``$regex`` on ``filename`` instead of a full scan.
    read_only, max_concurrency, retries
        As for every remote store.
    client_kwargs : dict, optional
        Extra keywords for ``pymongo.MongoClient`` (non-secret).

    Notes
    -----
    An overwrite uploads a new file, then deletes the older versions; readers always take
    the newest complete file and retry if it is replaced while they read, so a reader
    sees either the old or the new value, never a mix.  Byte ranges fetch only the
    GridFS chunks that overlap the range.
    """

    backend_name: ClassVar[str] = "mongo_gridfs"
    container_kind: ClassVar[str] = "MongoDB GridFS bucket"
    delete_batch_size: ClassVar[int] = 1

    def __init__(
        self,
        url: str = "mongodb://localhost:27017",
        database: str = "zarr",
        bucket: str = "fs",
        array_id: str = "",
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        server_side_prefix: bool = False,
        read_only: bool = False,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retries: RetryPolicy | dict[str, Any] | int | None = None,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not database:
            raise ValueError("expected a database name")
        if chunk_size < 1:
            raise ValueError(f"expected chunk_size >= 1, got {chunk_size}")
        self._pymongo = import_sdk("pymongo", "mongo")
        self._perr = import_sdk("pymongo.errors", "mongo")
        self._bson = import_sdk("bson", "mongo")
        super().__init__(
            prefix=array_id, read_only=read_only, max_concurrency=max_concurrency, retries=retries
        )
        self.url = url
        self.database = database
        self.bucket = bucket
        self.array_id = self._prefix
        self.chunk_size = int(chunk_size)
        self.server_side_prefix = bool(server_side_prefix)
        self._client_kwargs = dict(client_kwargs or {})

    # ------------------------------------------------------------------ client
    def _connect(self) -> Any:
        kwargs = {
            "maxPoolSize": max(self._max_concurrency, 10),
            "serverSelectionTimeoutMS": 10_000,
            "connectTimeoutMS": 10_000,
            **self._client_kwargs,
        }
        client = self._pymongo.MongoClient(self.url, **kwargs)
        db = client[self.database]
        return client, db[f"{self.bucket}.files"], db[f"{self.bucket}.chunks"]

    def _disconnect(self, client: Any) -> None:
        client[0].close()

    def _container_name(self) -> str:
        return f"{self.database}.{self.bucket}"

    def _secrets(self) -> list[str]:
        out = [self.url] if "@" in self.url else []
        try:
            import urllib.parse

            password = urllib.parse.urlsplit(self.url).password
        except ValueError:
            password = None
        if password:
            out.append(password)
            out.append(urllib.parse.unquote(password))
        return out

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        e = self._perr
        if isinstance(exc, _Replaced):
            return ErrorKind.TRANSIENT
        if isinstance(exc, e.OperationFailure):
            code = exc.code
            text = str(exc).lower()
            if code == 18 or "authentication failed" in text:
                return ErrorKind.AUTH
            if code in _DENIED_CODES or "not authorized" in text or "unauthorized" in text:
                return ErrorKind.DENIED
            if code in (50, 89, 91, 189, 262, 6, 7, 9001, 10107, 11600, 11602, 13435):
                return ErrorKind.TRANSIENT  # timeouts, shutdowns, elections
            return ErrorKind.OTHER
        if isinstance(exc, e.ServerSelectionTimeoutError):
            return ErrorKind.OTHER  # already waited serverSelectionTimeoutMS; don't multiply it
        if isinstance(exc, (e.AutoReconnect, e.NetworkTimeout, e.ConnectionFailure)):
            return ErrorKind.TRANSIENT
        if isinstance(exc, e.ConfigurationError):
            return ErrorKind.OTHER
        if isinstance(exc, e.PyMongoError):
            return ErrorKind.OTHER
        return None

    # ------------------------------------------------------------------ helpers
    def _newest(self, files: Any, path: str) -> dict[str, Any] | None:
        docs = list(
            files.find({"filename": path}, {"_id": 1, "length": 1, "chunkSize": 1, "uploadDate": 1})
        )
        return max(docs, key=_order) if docs else None

    def _read_chunks(self, chunks: Any, doc: dict[str, Any], start: int, stop: int) -> bytes:
        size = int(doc["length"])
        csize = int(doc["chunkSize"])
        if stop <= start or size == 0:
            return b""
        first, last = start // csize, (stop - 1) // csize
        n_total = (size + csize - 1) // csize
        if first == 0 and last == n_total - 1 and n_total > 1:
            found = {c["n"]: c["data"] for c in chunks.find({"files_id": doc["_id"]})}
        else:
            found = {}
            for n in range(first, last + 1):
                c = chunks.find_one({"files_id": doc["_id"], "n": n})
                if c is not None:
                    found[n] = c["data"]
        parts = []
        for n in range(first, last + 1):
            if n not in found:
                raise _Replaced(f"chunk {n} of {doc['_id']} is gone")
            parts.append(bytes(found[n]))
        blob = b"".join(parts)
        off = start - first * csize
        return blob[off : off + (stop - start)]

    # ------------------------------------------------------------------ operations
    def _op_get(self, client: Any, path: str, rng: HttpRange | None) -> bytes | None:
        _, files, chunks = client
        for _attempt in range(20):
            doc = self._newest(files, path)
            if doc is None:
                return None
            size = int(doc["length"])
            if rng is None:
                start, stop = 0, size
            elif rng.suffix is not None:
                start, stop = max(size - rng.suffix, 0), size
            else:
                start = min(rng.start or 0, size)
                stop = size if rng.end is None else min(rng.end + 1, size)
            try:
                return self._read_chunks(chunks, doc, start, stop)
            except _Replaced:
                time.sleep(0.001)  # overwritten under us: the newer file is complete
        raise _Replaced(f"{path!r} kept being replaced while reading")

    def _op_put(self, client: Any, path: str, data: bytes) -> None:
        _, files, chunks = client
        file_id = self._bson.ObjectId()
        cs = self.chunk_size
        docs = [
            {"files_id": file_id, "n": i, "data": self._bson.Binary(data[off : off + cs])}
            for i, off in enumerate(range(0, len(data), cs))
        ]
        if docs:
            chunks.insert_many(docs, ordered=True)
        # The files document goes in last: a file is visible only once complete.
        now = datetime.datetime.now(datetime.timezone.utc)
        files.insert_one(
            {
                "_id": file_id,
                "filename": path,
                "length": len(data),
                "chunkSize": cs,
                "uploadDate": now,
                "metadata": {"array_id": self.array_id},
            }
        )
        mine = {"_id": file_id, "uploadDate": now}
        for old in files.find({"filename": path}, {"_id": 1, "uploadDate": 1}):
            if old["_id"] != file_id and _order(old) < _order(mine):
                self._remove_file(files, chunks, old["_id"])

    def _remove_file(self, files: Any, chunks: Any, file_id: Any) -> None:
        files.delete_one({"_id": file_id})
        chunks.delete_many({"files_id": file_id})

    def _op_delete(self, client: Any, path: str) -> None:
        _, files, chunks = client
        for doc in files.find({"filename": path}, {"_id": 1}):
            self._remove_file(files, chunks, doc["_id"])

    def _op_size(self, client: Any, path: str) -> int | None:
        doc = self._newest(client[1], path)
        return None if doc is None else int(doc["length"])

    def _op_list(self, client: Any, path_prefix: str) -> Iterator[tuple[str, int]]:
        files = client[1]
        if self.server_side_prefix and path_prefix:
            query: dict[str, Any] = {"filename": {"$regex": "^" + re.escape(path_prefix)}}
        else:
            query = {}  # see the module docstring: filter in Python
        newest: dict[str, dict[str, Any]] = {}
        for doc in files.find(query, {"filename": 1, "length": 1, "uploadDate": 1}):
            name = doc.get("filename")
            if not isinstance(name, str) or not name.startswith(path_prefix):
                continue
            if name not in newest or _order(doc) > _order(newest[name]):
                newest[name] = doc
        for name, doc in newest.items():
            yield name, int(doc.get("length", 0))

    # ------------------------------------------------------------------ identity
    def _pickle_config(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "database": self.database,
            "bucket": self.bucket,
            "array_id": self.array_id,
            "chunk_size": self.chunk_size,
            "server_side_prefix": self.server_side_prefix,
            "read_only": self._read_only,
            "max_concurrency": self._max_concurrency,
            "retries": self._retry,
            "client_kwargs": self._client_kwargs,
        }

    def _repr_fields(self) -> dict[str, Any]:
        return {
            "url": redact_url_password(self.url),
            "database": self.database,
            "bucket": self.bucket,
            "array_id": self.array_id,
        }
