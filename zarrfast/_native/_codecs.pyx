# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Native single-chunk bytes->bytes codecs (zstd, lz4, zlib, gzip, blosc, crc32c).

Every function takes any C-contiguous buffer (bytes, bytearray, memoryview, numpy array)
and returns ``bytes``.  Sizes are checked with the GIL held, every C call runs with the
GIL released, and C status codes become :class:`zarrfast.errors.DecodeError` /
:class:`~zarrfast.errors.EncodeError` / :class:`~zarrfast.errors.ChecksumError` after.

``(kind, params)`` are the :class:`zarrfast.abc.codec.NativeCodecSpec` fields; the same
pair drives the C batch pipeline through ``zf_codec_decode`` (csrc/zf_codecs.h).
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.object cimport PyObject
from cpython.ref cimport Py_XDECREF
from libc.stdint cimport int64_t, uint8_t, uint32_t
from cpython.pyport cimport PY_SSIZE_T_MAX

from zarrfast._native.libblosc2 cimport BLOSC2_VERSION_STRING
from zarrfast._native.libzf cimport *

from zarrfast.errors import ChecksumError, CodecError, DecodeError, EncodeError

# Declared here until libzf.pxd (zf_codecs.h's extern block) lists them.
cdef extern from "zf_codecs.h" nogil:
    const char *zf_libdeflate_version()
    int zf_inflate_decode(int gzip, const uint8_t *src, size_t srclen, uint8_t *dst,
                          size_t dstcap, size_t *dstlen)
    int zf_inflate_decode_zlib(int gzip, const uint8_t *src, size_t srclen, uint8_t *dst,
                               size_t dstcap, size_t *dstlen)

cdef extern from "Python.h":
    PyObject *zf_bytes_new "PyBytes_FromStringAndSize"(const char *v, Py_ssize_t n) except NULL
    char *zf_bytes_data "PyBytes_AS_STRING"(PyObject *o)
    int _PyBytes_Resize(PyObject **o, Py_ssize_t n) except -1

__all__ = [
    "KINDS",
    "BLOSC_COMPRESSORS",
    "BLOSC_SHUFFLES",
    "encode",
    "decode",
    "decoded_size",
    "crc32c",
    "blosc_shuffle",
    "blosc_unshuffle",
    "blosc_bitshuffle",
    "blosc_bitunshuffle",
    "status_message",
    "library_versions",
]

#: NativeCodecSpec.kind names understood by the C dispatcher.
KINDS = {
    "zstd": ZF_KIND_ZSTD,
    "lz4": ZF_KIND_LZ4,
    "zlib": ZF_KIND_ZLIB,
    "gzip": ZF_KIND_GZIP,
    "blosc": ZF_KIND_BLOSC,
    "crc32c": ZF_KIND_CRC32C,
}
#: Blosc compressor name -> code used in the blosc params.
BLOSC_COMPRESSORS = {
    "blosclz": ZF_BLOSC_BLOSCLZ,
    "lz4": ZF_BLOSC_LZ4,
    "lz4hc": ZF_BLOSC_LZ4HC,
    "zlib": ZF_BLOSC_ZLIB,
    "zstd": ZF_BLOSC_ZSTD,
}
#: Blosc shuffle name -> numeric mode (numcodecs numbering).
BLOSC_SHUFFLES = {
    "noshuffle": ZF_BLOSC_NOSHUFFLE,
    "shuffle": ZF_BLOSC_SHUFFLE,
    "bitshuffle": ZF_BLOSC_BITSHUFFLE,
}

cdef enum:
    MAX_PARAMS = 8

# Largest output the unknown-size paths may grow to, per input byte (deflate < 1032:1,
# zstd <= 32768:1); beyond that the data cannot be valid.
cdef Py_ssize_t _DEFLATE_MAX_RATIO = 1032
cdef Py_ssize_t _ZSTD_MAX_RATIO = 32768


def status_message(int status):
    """Text for a C status code (``ZF_*`` in csrc/zf_status.h)."""
    return zf_status_message(status).decode()


def library_versions():
    """Versions of the compression libraries linked into this extension."""
    cdef unsigned z = zf_zstd_version()
    cdef int l = zf_lz4_version()
    return {
        "zstd": f"{z // 10000}.{z // 100 % 100}.{z % 100}",
        "lz4": f"{l // 10000}.{l // 100 % 100}.{l % 100}",
        "zlib": zf_zlib_version().decode(),  # encodes zlib/gzip
        "libdeflate": zf_libdeflate_version().decode(),  # decodes zlib/gzip
        "blosc2": BLOSC2_VERSION_STRING.decode(),
        "crc32c_hw": bool(zf_crc32c_hw_available()),
    }


cdef int _kind(str kind) except -1:
    try:
        return KINDS[kind]
    except KeyError:
        raise CodecError(f"unknown native codec kind {kind!r}; expected one of {sorted(KINDS)}")


cdef size_t _params(object params, int64_t *out) except? 0:
    cdef size_t n = len(params)
    if n > MAX_PARAMS:
        raise CodecError(f"at most {MAX_PARAMS} native codec params, got {n}")
    for i in range(n):
        out[i] = params[i]
    return n


cdef int _get_buffer(object data, Py_buffer *view) except -1:
    try:
        PyObject_GetBuffer(data, view, PyBUF_SIMPLE)
    except (TypeError, ValueError, BufferError) as exc:
        raise CodecError(
            f"expected a C-contiguous bytes-like object, got {type(data).__name__}: {exc}"
        ) from exc
    return 0


cdef object _finish(PyObject *out, Py_ssize_t n):
    """Shrink the fresh bytes object ``out`` (one reference, owned) to ``n`` and return it."""
    if _PyBytes_Resize(&out, n) < 0:  # pragma: no cover - frees `out` and sets NULL
        raise MemoryError()
    result = <object>out
    Py_XDECREF(out)
    return result


def encode(str kind, params, data):
    """Encode ``data`` with the native codec ``kind`` and integer ``params``.

    Parameters
    ----------
    kind
        A :data:`KINDS` name.
    params
        Integer parameters as in ``NativeCodecSpec.params`` (see csrc/zf_codecs.h).
    data
        Any C-contiguous buffer.

    Returns
    -------
    bytes
        The encoded data.
    """
    cdef int k = _kind(kind)
    cdef int64_t p[MAX_PARAMS]
    cdef size_t np_ = _params(params, p)
    cdef Py_buffer view
    cdef size_t bound = 0, outlen = 0
    cdef int rc
    cdef PyObject *out = NULL
    cdef PyObject *owned = NULL
    cdef uint8_t *dst
    _get_buffer(data, &view)
    try:
        # Pure size arithmetic over plain C values.
        with nogil:
            rc = zf_codec_encode_bound(k, p, np_, <size_t>view.len, &bound)
        if rc != ZF_OK or bound > <size_t>0x7FFFFFFFFFFFFFFF:
            raise EncodeError(
                f"{kind}: cannot encode {view.len} bytes: {status_message(rc)}"
            )
        out = zf_bytes_new(NULL, <Py_ssize_t>bound)
        dst = <uint8_t *>zf_bytes_data(out)
        # view.buf stays valid (view held) and `out` is a fresh bytes of `bound` bytes.
        with nogil:
            rc = zf_codec_encode(k, p, np_, <const uint8_t *>view.buf, <size_t>view.len,
                                 dst, bound, &outlen)
        if rc != ZF_OK:
            raise EncodeError(
                f"{kind}: encoding {view.len} bytes with params {tuple(params)} failed: "
                f"{status_message(rc)}"
            )
        owned = out
        out = NULL  # _finish takes ownership (and frees it if shrinking fails)
        return _finish(owned, <Py_ssize_t>outlen)
    finally:
        Py_XDECREF(out)
        PyBuffer_Release(&view)


def decoded_size(str kind, params, data):
    """Decoded size declared by ``data`` (validated), or ``None`` if not declared."""
    cdef int k = _kind(kind)
    cdef int64_t p[MAX_PARAMS]
    cdef size_t np_ = _params(params, p)
    cdef Py_buffer view
    cdef size_t size = 0
    cdef int rc
    _get_buffer(data, &view)
    try:
        # Reads only view.buf[0:view.len], which stays valid while the view is held.
        with nogil:
            rc = zf_codec_decoded_size(k, p, np_, <const uint8_t *>view.buf,
                                       <size_t>view.len, &size)
    finally:
        PyBuffer_Release(&view)
    if rc == ZF_OK:
        return size
    if rc == ZF_ERR_SIZE_UNKNOWN:
        return None
    raise DecodeError(f"{kind}: invalid header in {view.len} bytes: {status_message(rc)}")


cdef object _decode_into(int k, str kind, const int64_t *p, size_t np_, Py_buffer *view,
                         size_t cap, size_t *outlen, int *status):
    """Decode into a fresh bytes of ``cap`` bytes; returns it or None on error."""
    cdef PyObject *out
    cdef uint8_t *dst
    cdef int rc
    if cap > <size_t>PY_SSIZE_T_MAX:
        raise DecodeError(f"{kind}: decoded size {cap} is larger than addressable memory")
    out = zf_bytes_new(NULL, <Py_ssize_t>cap)
    dst = <uint8_t *>zf_bytes_data(out)
    # view->buf is held by the caller; `out` is a fresh bytes with exactly `cap` bytes and
    # zf_codec_decode never writes more than `cap`.
    with nogil:
        rc = zf_codec_decode(k, p, np_, <const uint8_t *>view.buf, <size_t>view.len,
                             dst, cap, outlen)
    status[0] = rc
    if rc != ZF_OK:
        Py_XDECREF(out)
        return None
    return _finish(out, <Py_ssize_t>outlen[0])


def decode(str kind, params, data, expected_size=None):
    """Decode ``data`` with the native codec ``kind``.

    Parameters
    ----------
    kind, params
        As for :func:`encode`.
    data
        Any C-contiguous buffer.
    expected_size
        Exact decoded size, if known.  A frame declaring another size is refused before
        anything is allocated, and no more than ``expected_size`` bytes are produced.

    Returns
    -------
    bytes

    Raises
    ------
    DecodeError
        Corrupt, truncated, trailing-garbage or wrongly sized input.
    ChecksumError
        A checksum stored in the data does not match.
    """
    cdef int k = _kind(kind)
    cdef int64_t p[MAX_PARAMS]
    cdef size_t np_ = _params(params, p)
    cdef Py_buffer view
    cdef size_t declared = 0, outlen = 0, cap
    cdef Py_ssize_t expected = -1
    cdef Py_ssize_t limit
    cdef int rc
    cdef int status = ZF_OK
    if expected_size is not None:
        expected = expected_size
        if expected < 0:
            raise CodecError(f"expected_size must be >= 0, got {expected_size}")
    _get_buffer(data, &view)
    try:
        # Reads only view.buf[0:view.len], which stays valid while the view is held.
        with nogil:
            rc = zf_codec_decoded_size(k, p, np_, <const uint8_t *>view.buf,
                                       <size_t>view.len, &declared)
        if rc == ZF_OK:
            if expected >= 0 and declared != <size_t>expected:
                raise DecodeError(
                    f"{kind}: expected {expected} decoded bytes, but the {view.len}-byte "
                    f"input declares {declared}"
                )
            result = _decode_into(k, kind, p, np_, &view, declared, &outlen, &status)
            if result is None:
                _raise_decode(kind, status, view.len, expected, declared)
            return result
        if rc != ZF_ERR_SIZE_UNKNOWN:
            _raise_decode(kind, rc, view.len, expected, -1)
        if expected >= 0:
            result = _decode_into(k, kind, p, np_, &view, <size_t>expected, &outlen, &status)
            if result is None:
                _raise_decode(kind, status, view.len, expected, -1)
            if outlen != <size_t>expected:
                raise DecodeError(
                    f"{kind}: expected {expected} decoded bytes, got {outlen} from "
                    f"{view.len} bytes of input"
                )
            return result
        # Unknown size and no expectation: grow geometrically up to what the format allows.
        limit = view.len * (_ZSTD_MAX_RATIO if k == ZF_KIND_ZSTD else _DEFLATE_MAX_RATIO) + 64
        cap = <size_t>max(256, min(limit, view.len * 4))
        while True:
            result = _decode_into(k, kind, p, np_, &view, cap, &outlen, &status)
            if result is not None:
                return result
            if status != ZF_ERR_DST_FULL:
                _raise_decode(kind, status, view.len, -1, -1)
            if cap >= <size_t>limit:
                raise DecodeError(
                    f"{kind}: {view.len} bytes of input decode to more than {limit} bytes, "
                    "which no valid stream can"
                )
            cap = <size_t>min(limit, <Py_ssize_t>cap * 2)
    finally:
        PyBuffer_Release(&view)


cdef int _raise_decode(str kind, int rc, Py_ssize_t srclen, Py_ssize_t expected,
                       Py_ssize_t declared) except -1:
    msg = status_message(rc)
    if rc == ZF_ERR_CHECKSUM:
        raise ChecksumError(f"{kind}: {msg} in {srclen} bytes of input")
    if rc == ZF_ERR_DST_FULL and expected >= 0:
        raise DecodeError(
            f"{kind}: expected {expected} decoded bytes, but the {srclen}-byte input decodes "
            "to more"
        )
    if rc == ZF_ERR_SIZE_MISMATCH and declared >= 0:
        raise DecodeError(
            f"{kind}: the {srclen}-byte input declares {declared} decoded bytes but does not "
            "decode to that size"
        )
    if rc == ZF_ERR_PARAM:
        raise CodecError(f"{kind}: {msg}")
    raise DecodeError(f"{kind}: cannot decode {srclen} bytes of input: {msg}")


def _inflate_status(bint gzip, data, Py_ssize_t cap, bint reference=False):
    """``(status, output or None)`` of one zlib (``gzip=False``) or gzip decode into ``cap``
    bytes, by the libdeflate decoder or (``reference=True``) zlib's streamed inflate.

    For tests that hold the two to the same status codes (csrc/zf_codecs.h).
    """
    cdef Py_buffer view
    cdef PyObject *out = NULL
    cdef PyObject *owned = NULL
    cdef uint8_t *dst
    cdef size_t outlen = 0
    cdef int rc
    if cap < 0:
        raise CodecError(f"cap must be >= 0, got {cap}")
    _get_buffer(data, &view)
    try:
        out = zf_bytes_new(NULL, cap)
        dst = <uint8_t *>zf_bytes_data(out)
        # view.buf stays valid (view held); `out` is a fresh bytes of `cap` bytes and both
        # decoders write at most `cap` bytes.
        with nogil:
            if reference:
                rc = zf_inflate_decode_zlib(gzip, <const uint8_t *>view.buf, <size_t>view.len,
                                            dst, <size_t>cap, &outlen)
            else:
                rc = zf_inflate_decode(gzip, <const uint8_t *>view.buf, <size_t>view.len,
                                       dst, <size_t>cap, &outlen)
        if rc != ZF_OK:
            return rc, None
        owned = out
        out = NULL  # _finish takes ownership (and frees it if shrinking fails)
        return rc, _finish(owned, <Py_ssize_t>outlen)
    finally:
        Py_XDECREF(out)
        PyBuffer_Release(&view)


def crc32c(data, unsigned int value=0, *, bint portable=False):
    """CRC32C (Castagnoli) of ``data``, continuing from ``value``.

    ``portable=True`` forces the table implementation (for tests).
    """
    cdef Py_buffer view
    cdef uint32_t crc = value
    _get_buffer(data, &view)
    try:
        # Reads only view.buf[0:view.len], which stays valid while the view is held.
        with nogil:
            if portable:
                crc = zf_crc32c_update_portable(crc, <const uint8_t *>view.buf,
                                                <size_t>view.len)
            else:
                crc = zf_crc32c_update(crc, <const uint8_t *>view.buf, <size_t>view.len)
    finally:
        PyBuffer_Release(&view)
    return crc


cdef object _block_kernel(object data, Py_ssize_t typesize, int which):
    cdef Py_buffer view
    cdef PyObject *out = NULL
    cdef uint8_t *dst
    if typesize < 1:
        raise CodecError(f"typesize must be >= 1, got {typesize}")
    _get_buffer(data, &view)
    try:
        out = zf_bytes_new(NULL, view.len)
        dst = <uint8_t *>zf_bytes_data(out)
        # `out` is a fresh bytes of view.len bytes; each kernel writes exactly view.len.
        with nogil:
            if which == 0:
                zf_blosc_shuffle(typesize, view.len, <const uint8_t *>view.buf, dst)
            elif which == 1:
                zf_blosc_unshuffle(typesize, view.len, <const uint8_t *>view.buf, dst)
            elif which == 2:
                zf_blosc_bitshuffle(typesize, view.len, <const uint8_t *>view.buf, dst)
            else:
                zf_blosc_bitunshuffle(typesize, view.len, <const uint8_t *>view.buf, dst)
        result = <object>out
        return result
    finally:
        Py_XDECREF(out)
        PyBuffer_Release(&view)


def blosc_shuffle(data, Py_ssize_t typesize):
    """Blosc byte shuffle of one block (trailing ``len % typesize`` bytes kept in place)."""
    return _block_kernel(data, typesize, 0)


def blosc_unshuffle(data, Py_ssize_t typesize):
    """Inverse of :func:`blosc_shuffle`."""
    return _block_kernel(data, typesize, 1)


def blosc_bitshuffle(data, Py_ssize_t typesize):
    """Blosc (format 2) bitshuffle of one block; blocks whose element count is not a
    multiple of 8 are returned unchanged."""
    return _block_kernel(data, typesize, 2)


def blosc_bitunshuffle(data, Py_ssize_t typesize):
    """Inverse of :func:`blosc_bitshuffle`."""
    return _block_kernel(data, typesize, 3)
