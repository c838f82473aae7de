# _EngineBase: the array's layout from the plan (shape, codecs, fill, key format) and
# selection -> task lists: the indexer's per-dimension tables, batches, keys and the C layout.
# (Included by _pipeline.pyx; the engine's layers are one class each, lowest first.)

cdef class _EngineBase:
    """Layout and task building shared by the read and write layers above it."""


    cdef public object metadata
    cdef public object store
    cdef public object fallback
    cdef public str prefix
    cdef object dtype
    cdef str head
    cdef str sep
    cdef str zero_key
    cdef bytes fill_out
    cdef bytes fill_stored
    cdef int ndim
    cdef int64_t chunk_shape[MAXDIM]
    cdef ptrdiff_t chunk_strides[MAXDIM]
    cdef zf_batch_layout base
    cdef size_t bound
    # the stored objects' shape: shards when sharded, else == chunk_shape
    cdef int64_t outer_shape[MAXDIM]
    cdef bint sharded
    cdef object shard_codec
    cdef object shard_spec
    cdef int64_t cps[MAXDIM]        # inner chunks per shard, per dim
    cdef Py_ssize_t ninner           # inner chunks per shard
    cdef Py_ssize_t index_nbytes
    cdef bint index_start
    cdef bint index_big
    cdef bint index_crc
    cdef object index_request
    cdef public object range_request
    cdef public Py_ssize_t coalesce_gap
    cdef object key_cache      # {kvals signature: all keys}, at most a few entries
    cdef object trusted_get    # the store's _get_many_trusted (keys built here), or None
    cdef object trusted_set    # the store's _set_many_trusted, or None
    cdef public dict fallbacks  # requests handed to the Python engine, by reason

    def __init__(self, metadata, store, str path, fallback, dict plan):
        cdef int d, i, j
        cdef size_t b
        self.metadata = metadata
        self.store = store
        self.fallback = fallback
        self.key_cache = {}
        self.fallbacks = {}
        # keys built here from chunk indices and the (validated) array path are valid;
        # stores offering it skip re-validating them per key
        ops = getattr(store, "_trusted_batch_ops", None)
        ops = ops() if ops is not None else None
        self.trusted_get, self.trusted_set = ops if ops is not None else (None, None)
        self.prefix = f"{path}/" if path else ""
        self.dtype = plan["dtype"]
        self.head = plan["key_head"]
        self.sep = plan["key_sep"]
        self.zero_key = plan["zero_key"]
        self.fill_out = plan["fill_out"]
        self.fill_stored = plan["fill_stored"]
        shape = plan["chunk_shape"]
        strides = plan["chunk_strides"]
        codecs = plan["codecs"]
        if len(shape) > MAXDIM or len(codecs) > ZF_BATCH_MAXCODECS:
            raise ValueError("too many dimensions or codecs for the native pipeline")
        self.ndim = len(shape)
        for d in range(self.ndim):
            self.chunk_shape[d] = shape[d]
            self.chunk_strides[d] = strides[d]
        self.base.ndim = self.ndim
        self.base.itemsize = plan["itemsize"]
        self.base.swap_unit = plan["swap_unit"]
        self.base.chunk_shape = self.chunk_shape
        self.base.chunk_strides = self.chunk_strides
        self.base.chunk_is_c = plan["chunk_is_c"]
        self.base.chunk_nbytes = plan["chunk_nbytes"]
        self.base.ncodecs = len(codecs)
        b = self.base.chunk_nbytes
        for i, (kind, params) in enumerate(codecs):
            if len(params) > ZF_BATCH_MAXPARAMS:
                raise ValueError("too many codec parameters for the native pipeline")
            self.base.codecs[i].kind = kind
            self.base.codecs[i].nparams = len(params)
            for j, p in enumerate(params):
                self.base.codecs[i].params[j] = p
            if zf_codec_encode_bound(kind, self.base.codecs[i].params,
                                     self.base.codecs[i].nparams, b, &b) != ZF_OK:
                raise ValueError(f"codec kind {kind} has no encode bound for {b} bytes")
        self.bound = b
        for d in range(self.ndim):
            self.outer_shape[d] = self.chunk_shape[d]
        shard = plan.get("shard")
        self.sharded = shard is not None
        self.ninner = 1
        if self.sharded:
            self.shard_codec = shard["codec"]
            self.shard_spec = shard["spec"]
            for d in range(self.ndim):
                self.outer_shape[d] = shard["shape"][d]
                self.cps[d] = shard["shape"][d] // self.chunk_shape[d]
                self.ninner *= self.cps[d]
            self.index_nbytes = shard["index_nbytes"]
            self.index_start = shard["index_start"]
            self.index_big = shard["index_big"]
            self.index_crc = shard["index_crc"]
            self.index_request = self.shard_codec.index_request(self.shard_spec)
            self.range_request = shard.get("range_request")
            self.coalesce_gap = shard.get("coalesce_gap", 64 * 1024)
            if self.index_nbytes != 16 * self.ninner + (4 if self.index_crc else 0):
                raise ValueError("unexpected shard index size")

    def key(self, coords):
        return self.prefix + self.metadata.chunk_key(tuple(coords))

    cdef Py_ssize_t _batch_tasks(self, bint cheap):
        """Chunks per native batch: ``config.batch_size``, or -- for a ``cheap`` batch,
        one that holds no more memory when it is bigger (workers reading or writing files
        themselves, or uncompressed chunks of a store that keeps the very bytes built
        here) -- enough for about 16 MiB of decoded data (at most 4096 chunks), because
        each batch pays a fixed cost (a pool wake-up and join, per-batch arrays, one
        store call) that dominates when a chunk is a few KiB.  Sizes below 64 are always
        taken literally (tests use them to exercise batch boundaries)."""
        cdef Py_ssize_t size = max(1, int(config.batch_size))
        if size < 64 or not cheap:
            return size
        return max(size, min(4096, (16 << 20) // max(<Py_ssize_t>self.base.chunk_nbytes, 1)))

    # ------------------------------------------------------------------ routing
    cdef _Tables _route(self, object indexer, object buf, bint flat, bint decode):
        """The one per-request decision: this request's tables when it runs natively,
        else None after counting why in ``fallbacks`` (the caller hands it to the
        Python engine).  Orthogonal integer-array selections become index-list dims,
        coordinate and mask selections point tables; what the native layout does not
        cover (buffers of another dtype, non-contiguous coordinate buffers of sharded
        arrays) is handed over.  Coordinate reads and writes of sharded arrays go their
        own way (_Reader.read, NativeEngine.write)."""
        cdef _Tables T
        if buf.dtype != self.dtype:
            reason = "buffer dtype differs from the array dtype"
        elif flat:
            if not self.sharded:
                T = self._point_tables(indexer, buf)
                if T is not None:
                    return T
            reason = "coordinate or mask selection"
            if self.sharded:
                reason += " of a sharded array with a non-contiguous buffer"
        else:
            T = self._tables(indexer, buf, True)
            if T is not None:
                return T
            reason = "orthogonal selection this layout does not cover"
        self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1
        return None

    # ------------------------------------------------------------------ tables
    cdef _Tables _tables(self, object indexer, object arr, bint lists):
        """Tables for a product indexer against ``arr``, or None if it is not a pure
        int/slice product and ``lists`` is false (orthogonal arrays, open meshes...).
        With ``lists``, a dim whose entries are not all strided runs becomes an index
        list (chunk-local indices and output byte offsets per entry)."""
        cdef _Tables T = _Tables.__new__(_Tables)
        cdef int d, a
        cdef Py_ssize_t j, n, ln
        cdef int64_t C, start, step, m, o0, last, st
        cdef int64_t[:, ::1] tv
        dims = getattr(indexer, "_dims", None)
        out_axes = getattr(indexer, "_out_axes", None)
        if dims is None or out_axes is None or len(dims) != self.ndim:
            return None
        axis_of = {}
        for a, dd in enumerate(out_axes):
            if dd is not None:
                axis_of[dd] = a
        shape = arr.shape
        strides = arr.strides
        T.arrays = []
        T.keyparts = []
        T.complete = []
        T.kvals = []
        T.ntasks = 1
        T.lists = {}
        for d in range(self.ndim):
            C = self.outer_shape[d]
            entries = dims[d]
            n = len(entries)
            a = axis_of.get(d, -1)
            if a >= 0:
                st = strides[a]
                ln = shape[a]
            else:
                st = 0
                ln = 1
            irregular = False
            tab = np.empty((4, n), dtype=np.int64)
            tv = tab
            parts = []
            kv = []
            comp = bytearray(n)
            lead = self.prefix + self.head if d == 0 else self.sep
            for j in range(n):
                k, cs, os_, complete = entries[j]
                if type(cs) is slice and a >= 0 and type(os_) is slice and os_.step in (None, 1):
                    start = cs.start
                    step = 1 if cs.step is None else cs.step
                    o0 = os_.start
                    m = os_.stop - o0
                elif isinstance(cs, (int, np.integer)) and os_ is None and a < 0:
                    start = cs
                    step = 1
                    m = 1
                    o0 = 0
                elif lists and a >= 0:
                    irregular = True  # an index list: this dim is built by _list_dim
                    break
                else:
                    return None
                last = start + (m - 1) * step
                if m < 1 or start < 0 or start >= C or last < 0 or last >= C or o0 < 0 or o0 + m > ln:
                    raise ValueError(
                        f"internal error: projection {entries[j]!r} does not fit chunk length "
                        f"{C} / output length {ln} on axis {d}"
                    )
                tv[0, j] = start
                tv[1, j] = step
                tv[2, j] = m
                tv[3, j] = o0 * st
                parts.append(lead + str(k))
                kv.append(k)
                comp[j] = 1 if complete else 0
            if irregular:
                self._list_dim(T, d, entries, C, ln, st)
                continue
            T.arrays.append(tab)
            T.kvals.append(kv)
            T.keyparts.append(parts)
            T.complete.append(bytes(comp))
            T.nentries[d] = n
            T.ntasks *= n
            T.dims[d].cstart = &tv[0, 0] if n else NULL
            T.dims[d].cstep = &tv[1, 0] if n else NULL
            T.dims[d].count = &tv[2, 0] if n else NULL
            T.dims[d].aoff = &tv[3, 0] if n else NULL
            T.strides[d] = st
        return T

    cdef _Tables _point_tables(self, object indexer, object out):
        """Tables for a coordinate (vindex / mask) read into, or write from, the flat
        C-contiguous ``out``: one task per chunk touched, dim 0 an index list of the points' byte
        offsets in the decoded chunk (``cidx_bytes``) and in ``out``, every other dim a
        single unit entry; keys given per task.  None when this read cannot run so
        (0-d arrays, outputs that are not C-contiguous, another indexer)."""
        groups = getattr(indexer, "_groups", None)
        if groups is None or self.ndim == 0 or not out.flags.c_contiguous:
            return None
        cdef _Tables T
        cdef Py_ssize_t n = len(groups), j
        cdef int d
        cdef int64_t isz = out.dtype.itemsize
        if n == 0:
            T = _Tables.__new__(_Tables)
            T.arrays = []
            T.keyparts = []
            T.complete = []
            T.kvals = []
            T.lists = {}
            T.ntasks = 0
            for d in range(self.ndim):
                T.nentries[d] = 0
                T.arrays.append(None)
                T.keyparts.append([])
                T.complete.append(b"")
                T.kvals.append([])
            T.allkeys = []
            return T
        strides = np.array([self.chunk_strides[d] for d in range(self.ndim)], dtype=np.int64)
        offs, opos, sizes, keys = [], [], [], []
        comp = bytearray(n)
        head = self.prefix + self.head
        for j in range(n):
            p = groups[j]
            comp[j] = 1 if p.is_complete_chunk else 0
            local = p.chunk_selection
            off = np.zeros(len(p.out_selection), dtype=np.int64)
            for d in range(self.ndim):
                off += np.asarray(local[d], dtype=np.int64) * strides[d]
            offs.append(off)
            opos.append(np.asarray(p.out_selection, dtype=np.int64) * isz)
            sizes.append(off.shape[0])
            keys.append(head + self.sep.join([str(k) for k in p.chunk_coords]))
        T = self._byte_list_tables(offs, opos, sizes, isz)
        T.complete[0] = bytes(comp)
        T.allkeys = keys
        return T

    cdef _Tables _byte_list_tables(self, list offs, list opos, list sizes, int64_t isz):
        """Tables of ``len(sizes)`` tasks, one per chunk: dim 0 an index list of byte
        offsets in the decoded chunk (``offs``, cidx_bytes) and in the flat buffer
        (``opos``), every other dim a single unit entry; entry rows (t, 0, ...).  The
        caller sets the keys (``allkeys``) and completeness."""
        cdef _Tables T = _Tables.__new__(_Tables)
        cdef Py_ssize_t n = len(sizes)
        cdef int d
        tab = np.zeros((4, n), dtype=np.int64)
        tab[2] = sizes
        ioff = np.zeros(n, dtype=np.int64)
        if n > 1:
            np.cumsum(tab[2, :n - 1], out=ioff[1:])
        ci_all = np.ascontiguousarray(np.concatenate(offs), dtype=np.int64)
        oi_all = np.ascontiguousarray(np.concatenate(opos), dtype=np.int64)
        one = np.array([[0], [1], [1], [0]], dtype=np.int64)
        cdef int64_t[:, ::1] tv = tab
        cdef int64_t[:, ::1] uv = one
        cdef int64_t[::1] cv = ci_all
        cdef int64_t[::1] ov = oi_all
        cdef int64_t[::1] iv = ioff
        T.arrays = [tab]
        T.lists = {0: (ci_all, oi_all, ioff)}
        T.ntasks = n
        T.nentries[0] = n
        T.dims[0].cstart = &tv[0, 0]
        T.dims[0].cstep = &tv[1, 0]
        T.dims[0].count = &tv[2, 0]
        T.dims[0].aoff = &tv[3, 0]
        T.dims[0].cidx = &cv[0]
        T.dims[0].oidx = &ov[0]
        T.dims[0].ioff = &iv[0]
        T.dims[0].cidx_bytes = 1
        T.strides[0] = isz
        T.complete = [bytes(n)]
        T.keyparts = [[None] * n]
        T.kvals = [list(range(n))]
        for d in range(1, self.ndim):
            T.arrays.append(one)
            T.nentries[d] = 1
            T.dims[d].cstart = &uv[0, 0]
            T.dims[d].cstep = &uv[1, 0]
            T.dims[d].count = &uv[2, 0]
            T.dims[d].aoff = &uv[3, 0]
            T.strides[d] = 0
            T.complete.append(b"\x01")
            T.keyparts.append([""])
            T.kvals.append([0])
        return T

    cdef void _list_dim(self, _Tables T, int d, list entries, int64_t C, Py_ssize_t ln,
                        int64_t st) except *:
        """Dim ``d`` as an index list: per entry the chunk-local indices and the byte
        offsets of their output positions, concatenated (zf_dim cidx/oidx/ioff)."""
        cdef Py_ssize_t n = len(entries), j
        cdef int64_t[:, ::1] tv
        cidx, opos, sizes = [], [], []
        parts = []
        kv = []
        comp = bytearray(n)
        lead = self.prefix + self.head if d == 0 else self.sep
        for j in range(n):
            k, cs, os_, complete = entries[j]
            ci = _as_index_list(cs)
            oi = _as_index_list(os_)
            if ci.shape[0] != oi.shape[0] or ci.shape[0] == 0:
                raise ValueError(
                    f"internal error: projection {entries[j]!r} has {ci.shape[0]} chunk and "
                    f"{oi.shape[0]} output positions on axis {d}")
            if ci.min() < 0 or ci.max() >= C or oi.min() < 0 or oi.max() >= ln:
                raise ValueError(
                    f"internal error: projection {entries[j]!r} does not fit chunk length "
                    f"{C} / output length {ln} on axis {d}")
            cidx.append(ci)
            opos.append(oi)
            sizes.append(ci.shape[0])
            parts.append(lead + str(k))
            kv.append(k)
            comp[j] = 1 if complete else 0
        tab = np.zeros((4, n), dtype=np.int64)
        tab[2] = sizes
        ioff = np.zeros(n, dtype=np.int64)
        if n > 1:
            np.cumsum(tab[2, :-1], out=ioff[1:])
        ci_all = np.ascontiguousarray(np.concatenate(cidx), dtype=np.int64)
        oi_all = np.ascontiguousarray(np.concatenate(opos) * st, dtype=np.int64)
        tv = tab
        cdef int64_t[::1] cv = ci_all
        cdef int64_t[::1] ov = oi_all
        cdef int64_t[::1] iv = ioff
        T.arrays.append(tab)
        T.lists[d] = (ci_all, oi_all, ioff)
        T.kvals.append(kv)
        T.keyparts.append(parts)
        T.complete.append(bytes(comp))
        T.nentries[d] = n
        T.ntasks *= n
        T.dims[d].cstart = &tv[0, 0]
        T.dims[d].cstep = &tv[1, 0]
        T.dims[d].count = &tv[2, 0]
        T.dims[d].aoff = &tv[3, 0]
        T.dims[d].cidx = &cv[0]
        T.dims[d].oidx = &ov[0]
        T.dims[d].ioff = &iv[0]
        T.strides[d] = st

    cdef list _batch(self, _Tables T, Py_ssize_t t0, Py_ssize_t nt, int32_t *entries,
                     uint8_t *complete):
        """Keys, entry rows and completeness of tasks [t0, t0 + nt) in C order."""
        cdef int nd = self.ndim, d
        cdef Py_ssize_t t, rem
        cdef int32_t idx[MAXDIM]
        cdef uint8_t c
        keys = []
        if nd == 0:
            complete[0] = 1
            return [self.prefix + self.zero_key]
        if T.allkeys is None and T.ntasks <= (1 << 17):
            T.allkeys = self._all_keys(T)
        rem = t0
        for d in range(nd - 1, -1, -1):
            idx[d] = <int32_t>(rem % T.nentries[d])
            rem //= T.nentries[d]
        parts = T.keyparts
        comps = T.complete
        cdef const unsigned char *cp[MAXDIM]
        for d in range(nd):
            cp[d] = <const unsigned char *>(<bytes>comps[d])
        cdef bint build = T.allkeys is None
        for t in range(nt):
            c = 1
            for d in range(nd):
                entries[t * nd + d] = idx[d]
                if not cp[d][idx[d]]:
                    c = 0
            complete[t] = c
            if build:
                key = None
                for d in range(nd):
                    p = (<list>parts[d])[idx[d]]
                    key = p if key is None else key + p
                keys.append(key)
            for d in range(nd - 1, -1, -1):
                idx[d] += 1
                if idx[d] < T.nentries[d]:
                    break
                idx[d] = 0
        if not build:
            return T.allkeys[t0:t0 + nt]
        return keys

    cdef list _all_keys(self, _Tables T):
        """Every task's key in C order, cached per selection grid (a repeated full-array
        read or write builds its keys once)."""
        sig = tuple([tuple(kv) for kv in T.kvals])
        keys = self.key_cache.get(sig)
        if keys is not None:
            return keys
        keys = T.keyparts[0]
        for d in range(1, self.ndim):
            keys = [k + p for k in keys for p in T.keyparts[d]]
        keys = list(keys)
        if len(self.key_cache) >= 4:
            self.key_cache.clear()
        self.key_cache[sig] = keys
        return keys

    cdef void _layout(self, _Tables T, zf_batch_layout *L, bint decode):
        L[0] = self.base
        L.dims = T.dims
        L.array_strides = T.strides
        L.fill = <const uint8_t *>(<char *>(self.fill_out if decode else self.fill_stored))


def _as_index_list(sel):
    """A projection's chunk-local or output positions as a 1-d int64 array (slices made
    by the indexer have concrete bounds; open-mesh arrays are raveled)."""
    if type(sel) is slice:
        stop = sel.stop
        step = 1 if sel.step is None else sel.step
        return np.arange(sel.start, -1 if stop is None else stop, step, dtype=np.int64)
    return np.ravel(np.asarray(sel)).astype(np.int64, copy=False)
