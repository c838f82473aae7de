"""The zarrfast exception hierarchy.

Every exception raised on purpose by zarrfast derives from :class:`ZarrfastError` and also
from the builtin exception a Python user would expect (``ValueError``, ``KeyError``,
``FileNotFoundError``, ``PermissionError``, ``IndexError``...), so both ``except
zarrfast.errors.DecodeError`` and ``except ValueError`` work.

Messages say what was expected, what was found, and name the key or path involved.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BackendNotAvailableError",
    "BoundsCheckError",
    "ChecksumError",
    "CodecError",
    "ContainerNotFoundError",
    "ContainsArrayError",
    "ContainsGroupError",
    "ContainsNodeError",
    "DecodeError",
    "EncodeError",
    "InvalidByteRangeError",
    "InvalidKeyError",
    "MetadataError",
    "NodeNotFoundError",
    "ReadOnlyStoreError",
    "RegistryError",
    "SelectionError",
    "ShapeMismatchError",
    "StoreClosedError",
    "StoreError",
    "TransientStoreError",
    "UnknownCodecError",
    "UnknownDataTypeError",
    "UnsupportedOperationError",
    "ZarrfastError",
]


class ZarrfastError(Exception):
    """Root of every exception zarrfast raises on purpose."""


# --------------------------------------------------------------------------- stores
class StoreError(ZarrfastError, OSError):
    """A storage backend failed to do what was asked."""


class ReadOnlyStoreError(StoreError, PermissionError):
    """A write or delete was attempted on a store (or array) opened read-only."""


class StoreClosedError(StoreError):
    """An operation was attempted on a store after ``close()``."""


class AccessDeniedError(StoreError, PermissionError):
    """The backend refused the operation (HTTP 403, EACCES, ...)."""


class AuthenticationError(StoreError, PermissionError):
    """Credentials are missing, malformed, invalid or expired."""


class InvalidKeyError(StoreError, ValueError):
    """A store key is malformed or would escape the store's root."""


class InvalidByteRangeError(StoreError, ValueError):
    """A byte-range request is malformed (negative offset, end before start...)."""


class UnsupportedOperationError(StoreError, NotImplementedError):
    """The store cannot do this (e.g. rewrite a member of a zip, or transactions)."""


class TransientStoreError(StoreError):
    """A retryable backend failure (throttling, timeout, reset) that outlived its retries."""


class BackendNotAvailableError(ZarrfastError, ImportError):
    """The backend needs an optional package that is not installed (names the extra)."""


class ContainerNotFoundError(StoreError, FileNotFoundError):
    """A bucket, container, database or root directory that the store needs is missing."""


# --------------------------------------------------------------------------- hierarchy
class NodeNotFoundError(ZarrfastError, FileNotFoundError, KeyError):
    """No array or group exists at the requested path."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ContainsNodeError(ZarrfastError, FileExistsError):
    """A node already exists where a new one was to be created."""


class ContainsArrayError(ContainsNodeError):
    """An array already exists at the path."""


class ContainsGroupError(ContainsNodeError):
    """A group already exists at the path."""


# --------------------------------------------------------------------------- metadata
class MetadataError(ZarrfastError, ValueError):
    """Metadata is malformed, hostile, or inconsistent with the specification."""


class UnknownDataTypeError(MetadataError, TypeError):
    """A data type that zarrfast does not know (or the format does not allow)."""


# --------------------------------------------------------------------------- codecs
class CodecError(ZarrfastError, ValueError):
    """A codec failed, or its configuration is invalid."""


class UnknownCodecError(CodecError):
    """A codec name/id that no registered codec answers to."""


class DecodeError(CodecError):
    """Encoded bytes are corrupt, truncated, oversized or otherwise undecodable."""


class EncodeError(CodecError):
    """A chunk could not be encoded."""


class ChecksumError(DecodeError):
    """A stored checksum does not match the data."""


# --------------------------------------------------------------------------- selections
class SelectionError(ZarrfastError, IndexError):
    """A selection is malformed or not supported in this indexing mode."""


class BoundsCheckError(SelectionError):
    """A selection reaches outside the array's shape."""


class ShapeMismatchError(ZarrfastError, ValueError):
    """Data given for a write cannot be broadcast to the selection's shape."""


# --------------------------------------------------------------------------- registry
class RegistryError(ZarrfastError, ValueError):
    """Registering or looking up a backend or codec failed (duplicate, missing methods)."""
