"""ZipStore: a Zarr hierarchy in one zip file, written once then read (``storage="zip"``).

Layout and interoperability
---------------------------
Each key is one zip member of the same name (``zarr.json``, ``c/0/1``, ``.zarray``,
``0.0``), exactly as zarr-python's ``zarr.storage.ZipStore`` writes them, so archives
move freely between the two in both directions.  An archive made with ``zip -r`` from
*inside* a Zarr directory opens as is (its directory entries are ignored); one made
from the parent directory (``zip -r x.zip data.zarr``) holds the hierarchy under
``data.zarr/``: open it with ``store=ZipStore(...)`` and ``path="data.zarr"``.

Reading
-------
The central directory is read once at open.  Values are read with ``os.pread`` at the
member's data offset (found from its local header on first access): nothing is
extracted, byte ranges of ``ZIP_STORED`` members read only those bytes, and reads are
thread-safe without a lock.  Compressed members (deflate, bzip2, lzma) are read and
decompressed whole.  Whole ``ZIP_STORED`` reads are checked against the member's CRC-32.
Member names that are not valid keys (absolute, containing ``..`` or ``\\``) are never
mapped (zip-slip): they are left out of the store and listed in
:attr:`ZipStore.refused_members`.  Encrypted members raise on read.

Writing: write once
-------------------
Writes append members; a zip cannot rewrite or remove one in place, so a second write
of an existing key and a delete of an existing key raise
:class:`~zarrfast.errors.UnsupportedOperationError` (``"zip stores are write-once: key
'c/0/0' already exists in '/x.zip'"``).  Deleting a key that does not exist is a no-op,
as for every store.  For arrays this means: write each chunk once (whole chunks, or one
write covering them); a later write that touches an already written chunk, a metadata
or attribute update, or writing fill-value-only over a stored chunk fails clearly.
The default ``compression=ZIP_STORED`` stores chunks as they are: they are already
compressed by the array's codecs, and stored members allow byte-range (shard) reads.

The central directory is written when the store is closed (the last ``ZipStore`` on
that path in the process; also at garbage collection and interpreter exit) or by
:meth:`ZipStore.flush`.  Every ``ZipStore`` on one file in a process shares one handle,
so arrays opened on it in the same process see what was written at once.  *Other
processes* can open the archive only while no write is pending: after ``flush()``
(until the next write, which overwrites the old central directory) or ``close()``.
"""

from __future__ import annotations

import bz2
import contextlib
import lzma
import os
import struct
import threading
import time
import weakref
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from zarrfast.abc.store import (
    Buffer,
    ByteRequest,
    Store,
    byte_range_bounds,
    validate_key,
    validate_prefix,
)
from zarrfast.errors import (
    ContainerNotFoundError,
    ContainsNodeError,
    InvalidKeyError,
    NodeNotFoundError,
    StoreError,
    UnsupportedOperationError,
)

__all__ = ["ZipStore"]

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIG = b"PK\x03\x04"
_MODES = ("r", "w", "a", "x")


@dataclass
class _Member:
    header_offset: int
    compress_type: int
    compress_size: int
    file_size: int
    crc: int
    encrypted: bool
    data_offset: int = -1


def _as_bytes(key: str, value: Buffer) -> bytes:
    if type(value) is bytes:
        return value
    try:
        return memoryview(value).tobytes()
    except TypeError:
        raise TypeError(
            f"expected a bytes-like value for key {key!r}, got {type(value).__name__}"
        ) from None


class _ZipHandle:
    """The file shared by every ZipStore on one path in this process."""

    def __init__(self, path: str, compression: int) -> None:
        self.path = path
        self.compression = compression
        self.refs = 0
        self.pid = os.getpid()
        self.lock = threading.RLock()
        self.members: dict[str, _Member] = {}
        self.refused: list[str] = []
        self.writer: zipfile.ZipFile | None = None
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise ContainerNotFoundError(f"zip file '{path}' does not exist") from None
        except OSError as exc:
            raise StoreError(f"could not open zip file '{path}': {exc}") from exc
        try:
            with zipfile.ZipFile(path, "r") as zf:
                for info in zf.infolist():
                    self._index(info)
        except zipfile.BadZipFile as exc:
            os.close(self.fd)
            raise StoreError(
                f"'{path}' is not a readable zip file ({exc}); if it is still being "
                "written by another process, it must be closed (or flushed) first"
            ) from exc
        self._finalizer = weakref.finalize(self, _finalize, self.__dict__)

    def _index(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if name.endswith("/"):
            return  # a directory entry (zip -r): not a value
        try:
            validate_key(name)
        except InvalidKeyError:
            self.refused.append(name)
            return
        self.members[name] = _Member(
            info.header_offset,
            info.compress_type,
            info.compress_size,
            info.file_size,
            info.CRC,
            bool(info.flag_bits & 0x1),
        )

    def data_offset(self, m: _Member, key: str) -> int:
        if m.data_offset < 0:
            raw = os.pread(self.fd, _LOCAL_HEADER.size, m.header_offset)
            if len(raw) != _LOCAL_HEADER.size:
                raise StoreError(f"truncated local header for key {key!r} in '{self.path}'")
            fields = _LOCAL_HEADER.unpack(raw)
            if fields[0] != _LOCAL_SIG:
                raise StoreError(f"bad local header signature for key {key!r} in '{self.path}'")
            m.data_offset = m.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
        return m.data_offset

    def pread(self, offset: int, n: int, key: str) -> bytes:
        out = os.pread(self.fd, n, offset) if n else b""
        while len(out) < n:  # pread may return short reads on some filesystems
            more = os.pread(self.fd, n - len(out), offset + len(out))
            if not more:
                raise StoreError(
                    f"expected {n} bytes for key {key!r} in '{self.path}', got {len(out)}"
                )
            out += more
        return out

    def read(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        m = self.members.get(key)
        if m is None:
            return None
        if m.encrypted:
            raise StoreError(f"key {key!r} in '{self.path}' is encrypted; not supported")
        base = self.data_offset(m, key)
        if m.compress_type == zipfile.ZIP_STORED:
            start, stop = (
                (0, m.file_size)
                if byte_range is None
                else byte_range_bounds(byte_range, m.file_size)
            )
            data = self.pread(base + start, stop - start, key)
            if byte_range is None and zlib.crc32(data) != m.crc:
                raise StoreError(f"CRC-32 mismatch for key {key!r} in '{self.path}'")
            return data
        data = self._decompress(m, self.pread(base, m.compress_size, key), key)
        if byte_range is None:
            return data
        start, stop = byte_range_bounds(byte_range, len(data))
        return data[start:stop]

    def _decompress(self, m: _Member, raw: bytes, key: str) -> bytes:
        try:
            if m.compress_type == zipfile.ZIP_DEFLATED:
                d = zlib.decompressobj(-15)
                data = d.decompress(raw, m.file_size) + d.flush()
            elif m.compress_type == zipfile.ZIP_BZIP2:
                data = bz2.decompress(raw)
            elif m.compress_type == zipfile.ZIP_LZMA:
                # zip's lzma: 2-byte version, 2-byte props size, props, raw LZMA1 stream.
                psize = struct.unpack("<H", raw[2:4])[0]
                filt = lzma._decode_filter_properties(  # type: ignore[attr-defined]
                    lzma.FILTER_LZMA1, raw[4 : 4 + psize]
                )
                data = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt]).decompress(
                    raw[4 + psize :]
                )
            else:
                raise StoreError(
                    f"key {key!r} in '{self.path}' uses zip compression method "
                    f"{m.compress_type}, which is not supported"
                )
        except (zlib.error, OSError, lzma.LZMAError, ValueError) as exc:
            raise StoreError(f"corrupt zip member for key {key!r} in '{self.path}': {exc}") from exc
        if len(data) != m.file_size or zlib.crc32(data) != m.crc:
            raise StoreError(
                f"expected {m.file_size} bytes with CRC {m.crc:#010x} for key {key!r} in "
                f"'{self.path}', got {len(data)} bytes with CRC {zlib.crc32(data):#010x}"
            )
        return data

    # ------------------------------------------------------------------ writing
    def write(self, items: list[tuple[str, bytes]]) -> None:
        with self.lock:
            seen: set[str] = set()
            for key, _v in items:
                if key in self.members or key in seen:
                    raise UnsupportedOperationError(
                        f"zip stores are write-once: key {key!r} already exists in '{self.path}'"
                    )
                seen.add(key)
            if self.writer is None:
                try:
                    self.writer = zipfile.ZipFile(
                        self.path, "a", compression=self.compression, allowZip64=True
                    )
                except (OSError, zipfile.BadZipFile) as exc:
                    raise StoreError(f"could not open '{self.path}' for writing: {exc}") from exc
            now = time.localtime(time.time())[:6]
            for key, value in items:
                info = zipfile.ZipInfo(key, date_time=now)
                info.compress_type = self.compression
                info.external_attr = 0o644 << 16
                try:
                    self.writer.writestr(info, value)
                except OSError as exc:
                    raise StoreError(f"error writing key {key!r} to '{self.path}': {exc}") from exc
                self.members[key] = _Member(
                    info.header_offset,
                    info.compress_type,
                    info.compress_size,
                    info.file_size,
                    info.CRC,
                    False,
                )
            assert self.writer.fp is not None
            self.writer.fp.flush()  # so pread sees the new members

    def flush(self) -> None:
        """Write the central directory now (the next write reopens in append mode)."""
        with self.lock:
            writer, self.writer = self.writer, None
            if writer is not None:
                writer.close()

    def close(self) -> None:
        self._finalizer()


def _finalize(state: dict[str, Any]) -> None:
    writer = state.get("writer")
    state["writer"] = None
    if writer is not None and state.get("pid") == os.getpid():
        with contextlib.suppress(Exception):
            writer.close()
    fd = state.pop("fd", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


_HANDLES: dict[str, _ZipHandle] = {}
_HANDLES_LOCK = threading.RLock()
_INHERITED_WRITERS: list[zipfile.ZipFile] = []


def _after_fork_in_child() -> None:
    global _HANDLES_LOCK
    # The parent owns any open writer; the child reopens the file for itself.
    for h in _HANDLES.values():
        h.pid = -1
        if h.writer is not None:
            # Keep it referenced: its __del__ would write a central directory into
            # the parent's file from here.
            _INHERITED_WRITERS.append(h.writer)
            h.__dict__["writer"] = None
    _HANDLES.clear()
    _HANDLES_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ZipStore(Store):
    """A store in a single zip file (see the module docstring: write once, then read).

    Parameters
    ----------
    path : str or os.PathLike
        The zip file.
    mode : {"r", "w", "a", "x"}, optional
        ``"r"`` read an existing archive (read-only); ``"w"`` create or truncate;
        ``"x"`` create, failing if the file exists; ``"a"`` append to an existing
        archive or create one.  Default: ``"r"`` with ``read_only=True``, else ``"a"``
        (nothing is written to the file until the first write).
    read_only : bool, default False
        Same as ``mode="r"``.
    compression : int, default zipfile.ZIP_STORED
        Method for new members.  Chunks are already compressed by their codecs, so
        deflating them again costs time for little gain and prevents byte-range reads.
    """

    backend_name: ClassVar[str] = "zip"
    supports_deletes: ClassVar[bool] = False
    supports_transactions: ClassVar[bool] = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: str | None = None,
        read_only: bool = False,
        compression: int = zipfile.ZIP_STORED,
    ) -> None:
        if mode is None:
            mode = "r" if read_only else "a"
        if mode not in _MODES:
            raise ValueError(f"expected mode in {_MODES}, got {mode!r}")
        if compression not in (
            zipfile.ZIP_STORED,
            zipfile.ZIP_DEFLATED,
            zipfile.ZIP_BZIP2,
            zipfile.ZIP_LZMA,
        ):
            raise ValueError(f"expected a zipfile compression constant, got {compression!r}")
        super().__init__(read_only=read_only or mode == "r")
        self._path = os.path.abspath(os.fspath(path))
        self._mode = mode
        self._compression = compression
        real = os.path.realpath(self._path)
        with _HANDLES_LOCK:
            handle = _HANDLES.get(real)
            if mode in ("w", "x"):
                if handle is not None:
                    raise StoreError(
                        f"cannot {'truncate' if mode == 'w' else 'create'} '{self._path}': "
                        "it is open by another ZipStore in this process; close that first"
                    )
                self._create_empty("w" if mode == "w" else "x")
            elif mode == "a" and handle is None and not os.path.exists(self._path):
                self._create_empty("x")
            if handle is None:
                handle = _ZipHandle(self._path, compression)
                _HANDLES[real] = handle
            handle.refs += 1
        self._real = real
        self._handle: _ZipHandle | None = handle

    def _create_empty(self, mode: Literal["w", "x"]) -> None:
        parent = os.path.dirname(self._path)
        try:
            if parent:
                os.makedirs(parent, exist_ok=True)
            with zipfile.ZipFile(self._path, mode):
                pass  # an empty archive: just the end-of-central-directory record
        except FileExistsError:
            raise ContainsNodeError(f"zip file '{self._path}' already exists (mode='x')") from None
        except OSError as exc:
            raise StoreError(f"could not create zip file '{self._path}': {exc}") from exc

    # ------------------------------------------------------------------ helpers
    @property
    def path(self) -> str:
        """The absolute path of the zip file."""
        return self._path

    @property
    def refused_members(self) -> list[str]:
        """Member names that are not safe keys and are therefore never read."""
        return list(self._h().refused)

    def _h(self) -> _ZipHandle:
        self._check_open()
        handle = self._handle
        assert handle is not None
        if handle.pid != os.getpid():
            with _HANDLES_LOCK:
                handle = _HANDLES.get(self._real)
                if handle is None:
                    handle = _ZipHandle(self._path, self._compression)
                    _HANDLES[self._real] = handle
                handle.refs += 1
                self._handle = handle
        return handle

    # ------------------------------------------------------------------ reads
    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        validate_key(key)
        return self._h().read(key, byte_range)

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        for k, _r in requests:
            validate_key(k)
        h = self._h()
        return [h.read(k, r) for k, r in requests]

    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        return self.get_ranges([(k, None) for k in keys])

    def exists(self, key: str) -> bool:
        validate_key(key)
        return key in self._h().members

    def getsize(self, key: str) -> int:
        validate_key(key)
        m = self._h().members.get(key)
        if m is None:
            raise NodeNotFoundError(f"no value at key {key!r} in {self!r}")
        return m.file_size

    def getsize_prefix(self, prefix: str) -> int:
        validate_prefix(prefix)
        members = self._h().members
        return sum(m.file_size for k, m in list(members.items()) if k.startswith(prefix))

    def list_prefix(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        keys = list(self._h().members)
        return iter([k for k in keys if k.startswith(prefix)])

    def list_dir(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        n = len(prefix)
        seen: dict[str, None] = {}
        for k in list(self._h().members):
            if k.startswith(prefix):
                seen[k[n:].partition("/")[0]] = None
        return iter(list(seen))

    # ------------------------------------------------------------------ writes
    def set(self, key: str, value: Buffer) -> None:
        """Append a member; a key that already exists raises UnsupportedOperationError."""
        validate_key(key)
        self._check_writable()
        self._h().write([(key, _as_bytes(key, value))])

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        """Append several members; nothing is written if any key already exists."""
        self._check_writable()
        staged = [(validate_key(k), _as_bytes(k, v)) for k, v in items]
        if staged:
            self._h().write(staged)

    def delete(self, key: str) -> None:
        """A no-op for a missing key; deleting an existing member is unsupported."""
        self.delete_many([key])

    def delete_many(self, keys: Iterable[str]) -> None:
        self._check_writable()
        staged = [validate_key(k) for k in keys]
        members = self._h().members
        for k in staged:
            if k in members:
                raise UnsupportedOperationError(
                    f"zip stores are write-once: cannot delete key {k!r} from '{self._path}'"
                )

    def delete_prefix(self, prefix: str) -> int:
        validate_prefix(prefix)
        self._check_writable()
        doomed = list(self.list_prefix(prefix))
        if doomed:
            raise UnsupportedOperationError(
                f"zip stores are write-once: cannot delete {len(doomed)} key(s) under "
                f"{prefix!r} from '{self._path}'"
            )
        return 0

    # ------------------------------------------------------------------ lifecycle
    def flush(self) -> None:
        """Write the central directory now, so other processes can read what is there."""
        self._h().flush()

    def with_read_only(self, read_only: bool = True) -> ZipStore:
        return type(self)(**{**self._pickle_config(), "read_only": read_only})

    def close(self) -> None:
        """Release the shared handle; the last one writes the central directory."""
        handle, self._handle = self._handle, None
        super().close()
        if handle is None or handle.pid != os.getpid():
            return
        with _HANDLES_LOCK:
            handle.refs -= 1
            if handle.refs > 0:
                return
            if _HANDLES.get(self._real) is handle:
                del _HANDLES[self._real]
        with handle.lock:
            handle.close()

    def __del__(self) -> None:
        # Arrays never close their store: finish the archive when the store goes away.
        if getattr(self, "_handle", None) is not None:
            with contextlib.suppress(Exception):
                self.close()

    def _pickle_config(self) -> dict[str, Any]:
        # Never "w"/"x": reopening a pickled store must not truncate the archive.
        return {
            "path": self._path,
            "mode": "r" if self._read_only else "a",
            "read_only": self._read_only,
            "compression": self._compression,
        }

    def _repr_fields(self) -> dict[str, Any]:
        return {"path": self._path}

    def __hash__(self) -> int:
        return hash((type(self), self._path, self._read_only))
