# _Reader: the read engine: fetch (store batch or native file reads), decode and
# scatter into the output, for plain chunks and for shards (whole or partial byte ranges).
# (Included by _pipeline.pyx; the engine's layers are one class each, lowest first.)

cdef class _Reader(_ShardTables):
    """The read path: read(projections, out, flat_out) and its batch helpers."""

    # ------------------------------------------------------------------ read
    def read(self, projections, out, bint flat_out):
        """Decode every chunk of ``projections`` into ``out`` (see PythonEngine.read)."""
        cdef _Tables T
        if flat_out and self.sharded and out.dtype == self.dtype and self.ndim > 0 \
                and out.flags.c_contiguous and out.flags.writeable \
                and getattr(projections, "_groups", None) is not None:
            # coordinate / mask read of a sharded array (see _read_points_sharded)
            return self._read_points_sharded(projections, out, <uint8_t *>_array_address(out))
        T = self._route(projections, out, flat_out, True)
        if T is None:
            return self.fallback.read(projections, out, flat_out)
        if not out.flags.writeable:
            raise ValueError("output array is read-only")
        cdef zf_batch_layout L
        cdef uint8_t *base = <uint8_t *>_array_address(out)
        # outputs beyond the caches: scatter rows with streaming stores (no read of the
        # destination lines); small outputs stay in the cache for the caller.  Small
        # chunks (W4: 8 KiB) keep plain stores: the lines a page fault just zeroed are
        # still cached when the neighbouring chunks fill the rest of the page, and
        # streaming stores would evict them (measured: W4 22 -> 30 ms, W1 151 -> 140 ms)
        cdef int stream = 1 if (out.nbytes >= _STREAM_MIN_BYTES and
                                self.base.chunk_nbytes >= _STREAM_MIN_CHUNK) else 0
        if self.sharded:
            T = self._inner_tables(T)
            self._layout(T, &L, True)
            L.stream_out = stream
            return self._read_sharded(T, &L, base)
        self._layout(T, &L, True)
        L.stream_out = stream
        cdef Py_ssize_t size
        cdef Py_ssize_t t0 = 0, nt
        paths_of = getattr(self.store, "native_read_paths", None)
        size = self._batch_tasks(paths_of is not None or (
            self.trusted_get is not None and self.base.ncodecs == 0))
        if paths_of is not None:
            # the workers read the files themselves: nothing is held between chunks, so
            # the batch size only bounds the key/path lists
            while t0 < T.ntasks:
                nt = min(size, T.ntasks - t0)
                if not self._read_files(T, &L, base, t0, nt, paths_of):
                    break
                t0 += nt
        # keep the encoded bytes held by one batch near 32 MiB (peak <= N + 64 MiB)
        size = min(size, max(4 * chunk_threads(size),
                             (32 << 20) // max(<Py_ssize_t>self.base.chunk_nbytes, 1)))
        while t0 < T.ntasks:
            nt = min(size, T.ntasks - t0)
            self._read_batch(T, &L, base, t0, nt)
            t0 += nt

    cdef bint _read_files(self, _Tables T, zf_batch_layout *L, uint8_t *base, Py_ssize_t t0,
                          Py_ssize_t nt, object paths_of) except -1:
        """Tasks [t0, t0 + nt) read from files by the C workers; False if the store
        declined (then the caller fetches through the store)."""
        cdef int32_t *entries = <int32_t *>calloc(max(1, nt * max(self.ndim, 1)), sizeof(int32_t))
        cdef uint8_t *complete = <uint8_t *>calloc(max(1, nt), 1)
        cdef const char **cpaths = <const char **>calloc(max(1, nt), sizeof(char *))
        cdef int *status = <int *>calloc(max(1, nt), sizeof(int))
        cdef int *errnos = <int *>calloc(max(1, nt), sizeof(int))
        cdef Py_ssize_t i
        cdef zf_pool *pool
        cdef int workers
        try:
            if not (entries and complete and cpaths and status and errnos):
                raise MemoryError()
            keys = self._batch(T, t0, nt, entries, complete)
            paths = paths_of(keys)
            if paths is None:
                return False
            if len(paths) != nt:
                raise DecodeError(f"store returned {len(paths)} paths for {nt} keys")
            for i in range(nt):
                # `paths` (a list of bytes) outlives the nogil block below
                cpaths[i] = <const char *>(<bytes>paths[i])
            pool = _get_pool(max(1, int(config.num_threads)))
            workers = chunk_threads(nt)
            # paths are immutable bytes kept alive by `paths`; each task writes only its
            # own disjoint region of the caller's array at `base`.
            with nogil:
                zf_batch_decode_files(pool, workers, L, base, <size_t>nt, entries, cpaths,
                                      status, errnos)
            for i in range(nt):
                if status[i] == ZF_BATCH_IO_ERROR:
                    # the store's own read raises its mapped error (permission, ...)
                    self.store.get(keys[i])
                    raise StoreError(f"reading key {keys[i]!r}: {os.strerror(errnos[i])}")
                if status[i] != ZF_OK:
                    raise _error(status[i], keys[i], False)
            return True
        finally:
            free(entries)
            free(complete)
            free(cpaths)
            free(status)
            free(errnos)

    cdef _read_batch(self, _Tables T, zf_batch_layout *L, uint8_t *base, Py_ssize_t t0,
                     Py_ssize_t nt):
        cdef int32_t *entries = <int32_t *>calloc(max(1, nt * max(self.ndim, 1)), sizeof(int32_t))
        cdef uint8_t *complete = <uint8_t *>calloc(max(1, nt), 1)
        cdef Py_buffer *views = <Py_buffer *>calloc(max(1, nt), sizeof(Py_buffer))
        cdef uint8_t *held = <uint8_t *>calloc(max(1, nt), 1)
        cdef const uint8_t **src = <const uint8_t **>calloc(max(1, nt), sizeof(uint8_t *))
        cdef size_t *lens = <size_t *>calloc(max(1, nt), sizeof(size_t))
        cdef int *status = <int *>calloc(max(1, nt), sizeof(int))
        cdef Py_ssize_t i
        cdef zf_pool *pool
        cdef int workers
        try:
            if not (entries and complete and views and held and src and lens and status):
                raise MemoryError()
            keys = self._batch(T, t0, nt, entries, complete)
            cm = (contextlib.nullcontext(self.trusted_get(keys)) if self.trusted_get is not None
                  else self.store.borrow_many(keys))
            with cm as bufs:
                if len(bufs) != nt:
                    raise DecodeError(f"store returned {len(bufs)} values for {nt} keys")
                for i in range(nt):
                    b = bufs[i]
                    if b is None:
                        continue
                    if type(b) is bytes:
                        # immutable and kept alive by `bufs` until after the join
                        src[i] = <const uint8_t *>zf_bytes_data(<PyObject *>b)
                        lens[i] = <size_t>len(<bytes>b)
                        continue
                    PyObject_GetBuffer(b, &views[i], PyBUF_SIMPLE)
                    held[i] = 1
                    # a present empty value must not look missing (NULL = fill)
                    src[i] = <const uint8_t *>views[i].buf if views[i].buf != NULL else _EMPTY
                    lens[i] = <size_t>views[i].len
                pool = _get_pool(max(1, int(config.num_threads)))
                workers = chunk_threads(nt)
                # Buffers are held (views) until after the join; `base` is the caller's
                # array, each task writes only its own disjoint region of it.
                with nogil:
                    zf_batch_decode(pool, workers, L, base, <size_t>nt, entries, src, lens,
                                    status)
                for i in range(nt):
                    if held[i]:
                        PyBuffer_Release(&views[i])
                        held[i] = 0
            for i in range(nt):
                if status[i] != ZF_OK:
                    raise _error(status[i], keys[i], False)
        finally:
            if held != NULL and views != NULL:
                for i in range(nt):
                    if held[i]:
                        PyBuffer_Release(&views[i])
            free(entries)
            free(complete)
            free(views)
            free(held)
            free(src)
            free(lens)
            free(status)

    cdef tuple _inner_point_tables(self, object indexer, int64_t isz, bint writing):
        """A coordinate (vindex / mask) selection of a sharded array split by inner chunk:
        (tables with one task per inner chunk touched -- dim 0 a list of byte offsets as
        in _point_tables --, shards [(key, None, ntasks)] in task order, int32 entry rows,
        int64 inner chunk numbers, uint8 completeness) or None when nothing is selected.
        An inner chunk is complete (``writing``) when its distinct points are all of it;
        within an inner chunk the points keep their order (the last duplicate wins)."""
        cdef int nd = self.ndim, d
        cdef Py_ssize_t j, ntask = 0
        cdef int64_t inner_n = 1
        groups = indexer._groups
        cshape = np.array([self.chunk_shape[d] for d in range(nd)], dtype=np.int64)
        cps = np.array([self.cps[d] for d in range(nd)], dtype=np.int64)
        strides = np.array([self.chunk_strides[d] for d in range(nd)], dtype=np.int64)
        for d in range(nd):
            inner_n *= self.chunk_shape[d]
        head = self.prefix + self.head
        offs, opos, sizes, innerf, shards, comp = [], [], [], [], [], []
        for j in range(len(groups)):
            p = groups[j]
            local = [np.asarray(p.chunk_selection[d], dtype=np.int64) for d in range(nd)]
            fid = np.zeros(local[0].shape[0], dtype=np.int64)
            off = np.zeros(local[0].shape[0], dtype=np.int64)
            for d in range(nd):
                fid = fid * cps[d] + local[d] // cshape[d]
                off += (local[d] % cshape[d]) * strides[d]
            order = np.argsort(fid, kind="stable")
            fs = fid[order]
            cuts = (np.flatnonzero(fs[1:] != fs[:fs.shape[0] - 1]) + 1).tolist()
            pos = np.asarray(p.out_selection, dtype=np.int64) * isz
            n0 = ntask
            for s0, s1 in zip([0] + cuts, cuts + [fs.shape[0]]):
                sel = order[s0:s1]
                offs.append(off[sel])
                opos.append(pos[sel])
                sizes.append(s1 - s0)
                innerf.append(int(fs[s0]))
                comp.append(1 if writing and s1 - s0 >= inner_n
                            and np.unique(off[sel]).shape[0] == inner_n else 0)
                ntask += 1
            shards.append((head + self.sep.join([str(k) for k in p.chunk_coords]), None,
                           ntask - n0))
        if ntask == 0:
            return None
        cdef _Tables T = self._byte_list_tables(offs, opos, sizes, isz)
        entries = np.zeros(ntask * nd, dtype=np.int32)
        entries[::nd] = np.arange(ntask, dtype=np.int32)
        return (T, shards, entries, np.asarray(innerf, dtype=np.int64),
                np.asarray(comp, dtype=np.uint8))

    cdef _read_points_sharded(self, object indexer, object out, uint8_t *base):
        """A coordinate (vindex / mask) read of a sharded array: the indexer's points,
        grouped by shard, are split by inner chunk (_inner_point_tables) and read shard
        by shard like a product read."""
        cdef int nd = self.ndim
        got = self._inner_point_tables(indexer, out.dtype.itemsize, False)
        if got is None:
            return
        cdef _Tables T = got[0]
        shards, entries, flat_all = got[1], got[2], got[3]
        cdef zf_batch_layout L
        self._layout(T, &L, True)
        L.stream_out = 0
        cdef Py_ssize_t per_shard_bytes = max(1, <Py_ssize_t>(self.ninner * self.base.chunk_nbytes))
        cdef Py_ssize_t limit = max(1, (32 << 20) // per_shard_bytes)
        cdef Py_ssize_t i0 = 0, i1, tasks, t0 = 0
        while i0 < len(shards):
            i1 = i0
            tasks = 0
            while i1 < len(shards) and (i1 == i0 or i1 - i0 < limit):
                tasks += shards[i1][2]
                i1 += 1
            self._read_shard_batch(T, &L, base, shards[i0:i1], tasks,
                                   (entries[t0 * nd:(t0 + tasks) * nd], flat_all[t0:t0 + tasks]))
            t0 += tasks
            i0 = i1

    cdef _read_sharded(self, _Tables I, zf_batch_layout *L, uint8_t *base):
        shards = self._shards(I)
        cdef Py_ssize_t per_shard_bytes = max(1, <Py_ssize_t>(self.ninner * self.base.chunk_nbytes))
        cdef Py_ssize_t limit = max(1, (32 << 20) // per_shard_bytes)
        cdef Py_ssize_t i0 = 0, i1, tasks
        while i0 < len(shards):
            # whole shards per batch, ~32 MiB decoded (at least one shard)
            i1 = i0
            tasks = 0
            while i1 < len(shards) and (i1 == i0 or i1 - i0 < limit):
                tasks += shards[i1][2]
                i1 += 1
            self._read_shard_batch(I, L, base, shards[i0:i1], tasks)
            i0 = i1

    cdef _read_shard_batch(self, _Tables I, zf_batch_layout *L, uint8_t *base, list shards,
                           Py_ssize_t nt, object pre=None):
        """Fetch, parse the index of and decode the inner tasks of ``shards`` ((key, row,
        ntasks) each).  ``pre``: (int32 entry rows, int64 inner chunk numbers) of these
        tasks, given instead of being derived from the product tables (coordinate reads)."""
        cdef _TaskArrays A = _TaskArrays(nt, self.ndim)
        cdef int nd = self.ndim
        cdef Py_ssize_t s, t, t0, n, g
        cdef int64_t *flat = A.flat
        cdef _U64 IVB = _U64(2 * max(self.ninner, 1))
        cdef uint64_t *ivp = IVB.p
        cdef size_t ki
        cdef uint64_t off, nb, a, b
        cdef const uint8_t *ptr
        cdef size_t ln
        cdef zf_pool *pool
        cdef int workers
        firsts = []
        t0 = 0
        cdef int32_t[::1] pe
        cdef int64_t[::1] pf
        if pre is not None:
            pe = pre[0]
            pf = pre[1]
            for t in range(nt):
                flat[t] = pf[t]
                for g in range(nd):
                    A.entries[t * nd + g] = pe[t * nd + g]
        for key, row, n in shards:
            if pre is None:
                self._shard_tasks(I, row, A.entries + t0 * nd, flat + t0)
            firsts.append(t0)
            t0 += n
        partial_ok = self.index_request is not None and self.store.supports_partial_reads \
            and self.range_request is not None \
            and not getattr(self.store, "borrow_is_free", False)
        whole = [s for s in range(len(shards))
                 if not partial_ok or shards[s][2] == self.ninner]
        part = [s for s in range(len(shards)) if partial_ok and shards[s][2] != self.ninner]
        V = _Views(len(whole) + 1)
        RV = None
        cdef _FdTasks FP = None
        keys = [sh[0] for sh in shards]
        paths = None
        if part:
            # a local store: the workers pread the inner chunks from the open shard files
            paths_of = getattr(self.store, "native_read_paths", None)
            if paths_of is not None:
                paths = paths_of([keys[s] for s in part])
        try:
            borrow = self.store.borrow_many([keys[s] for s in whole]) if whole else _NO_BORROW
            with borrow as bufs:
                if len(bufs) != len(whole):
                    raise DecodeError(f"store returned {len(bufs)} values for {len(whole)} keys")
                for g, s in enumerate(whole):
                    buf = bufs[g]
                    if buf is None:
                        continue  # missing shard: src stays NULL (fill)
                    ptr = V.take(g, buf, &ln)
                    k = self.index_nbytes
                    if <Py_ssize_t>ln < k:
                        raise _short_index(k, <Py_ssize_t>ln, keys[s])
                    # the index lies inside the held buffer (ln >= k checked above)
                    ki = <size_t>self.index_nbytes
                    self._parse_index(ptr if self.index_start else ptr + (ln - ki), ki,
                                      ivp, keys[s], <int64_t>ln)
                    # _parse_index checked every present entry lies inside [0, ln)
                    for t in range(firsts[s], firsts[s] + shards[s][2]):
                        off = ivp[2 * flat[t]]
                        nb = ivp[2 * flat[t] + 1]
                        if off == _ABSENT and nb == _ABSENT:
                            continue
                        A.src[t] = ptr + off
                        A.lens[t] = <size_t>nb
                if part and paths is not None:
                    FP = self._open_partial(A, flat, shards, firsts, part, keys, paths, nt)
                elif part:
                    RV = self._fetch_partial(I, A, flat, shards, firsts, part, keys)
                pool = _get_pool(max(1, int(config.num_threads)))
                workers = chunk_threads(nt)
                # every src points into a buffer held by V/RV until after the join, every
                # fd of FP stays open until FP.close(); each task writes only its own
                # disjoint region of the caller's array at `base`.
                if FP is not None:
                    with nogil:
                        zf_batch_decode_ranges(pool, workers, L, base, <size_t>nt, A.entries,
                                               A.src, A.lens, FP.fds, FP.offs, A.status,
                                               FP.errnos)
                else:
                    with nogil:
                        zf_batch_decode(pool, workers, L, base, <size_t>nt, A.entries, A.src,
                                        A.lens, A.status)
                V.release()
                if RV is not None:
                    (<_Views>RV).release()
            for s in range(len(shards)):
                for t in range(firsts[s], firsts[s] + shards[s][2]):
                    if A.status[t] == ZF_BATCH_IO_ERROR and FP is not None:
                        # the store's own ranged read raises its mapped error (EIO, ...)
                        self.store.get_ranges([(keys[s], self.index_request)])
                        raise StoreError(f"reading key {keys[s]!r}: "
                                         f"{os.strerror(FP.errnos[t])}")
                    if A.status[t] != ZF_OK:
                        raise _error(A.status[t], f"{keys[s]}, inner chunk {flat[t]}", False)
        finally:
            V.release()
            if RV is not None:
                (<_Views>RV).release()
            if FP is not None:
                FP.close()

    cdef _FdTasks _open_partial(self, _TaskArrays A, int64_t *flat, list shards, list firsts,
                                list part, list keys, list paths, Py_ssize_t nt):
        """Open the partially needed shard files (a local store's ``native_read_paths``),
        read and parse their indexes; their tasks get (fd, offset) in the result and the
        inner chunk length in A.lens, for the workers to pread.  A missing shard file (or
        a directory, or a path through a file) is the fill value, as the store reads it."""
        cdef _FdTasks F = _FdTasks(nt)
        cdef _U64 IVB = _U64(2 * max(self.ninner, 1))
        cdef uint64_t *iv = IVB.p
        cdef Py_ssize_t q, s, t
        cdef Py_ssize_t k = self.index_nbytes
        cdef uint64_t off, nb
        cdef const uint8_t *ptr
        if len(paths) != len(part):
            raise DecodeError(f"store returned {len(paths)} paths for {len(part)} keys")
        try:
            for q, s in enumerate(part):
                try:
                    fd = os.open(paths[q], os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                    continue  # missing shard: its tasks stay fill
                except OSError:
                    # the store's own read raises its mapped error (permission, ...)
                    self.store.get_ranges([(keys[s], self.index_request)])
                    raise
                F.opened.append(fd)
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    continue
                size = st.st_size
                if size < k:
                    raise _short_index(k, size, keys[s])
                idx = os.pread(fd, k, 0 if self.index_start else size - k)
                if len(idx) != k:
                    raise DecodeError(
                        f"sharding codec: expected {k} bytes of shard index, got {len(idx)} "
                        f"(the shard shrank while read) (shard key {keys[s]!r})")
                ptr = <const uint8_t *>(<bytes>idx)
                # _parse_index checks every present entry lies inside [0, size)
                self._parse_index(ptr, <size_t>k, iv, keys[s], <int64_t>size)
                for t in range(firsts[s], firsts[s] + shards[s][2]):
                    off = iv[2 * flat[t]]
                    nb = iv[2 * flat[t] + 1]
                    if off == _ABSENT and nb == _ABSENT:
                        continue
                    F.fds[t] = fd
                    F.offs[t] = off
                    A.lens[t] = <size_t>nb
        except BaseException:
            F.close()
            raise
        return F

    cdef _Views _fetch_partial(self, _Tables I, _TaskArrays A, int64_t *flat, list shards,
                               list firsts, list part, list keys):
        """Index ranged reads for the partially needed shards, then one coalesced ranged
        read per run of their needed inner chunks; fills A.src/A.lens."""
        cdef Py_ssize_t s, t, q, ng
        cdef _U64 IVB = _U64(2 * max(self.ninner, 1))
        cdef uint64_t *iv = IVB.p
        cdef uint64_t off, nb
        cdef const uint8_t *ptr
        cdef size_t ln
        cdef _Views IV
        ibufs = self.store.get_ranges([(keys[s], self.index_request) for s in part])
        if len(ibufs) != len(part):
            raise DecodeError(f"store returned {len(ibufs)} values for {len(part)} ranges")
        wanted = []  # (key, offset, nbytes, task)
        IV = _Views(len(part))
        for q, s in enumerate(part):
            if ibufs[q] is None:
                continue
            ptr = IV.take(q, ibufs[q], &ln)
            # ptr[0:ln] is held by IV while it is parsed
            self._parse_index(ptr, ln, iv, keys[s], -1)
            IV.release_one(q)
            for t in range(firsts[s], firsts[s] + shards[s][2]):
                off = iv[2 * flat[t]]
                nb = iv[2 * flat[t] + 1]
                if off == _ABSENT and nb == _ABSENT:
                    continue
                wanted.append((s, off, nb, t))
        wanted.sort()
        groups = []  # [shard, start, end, [(task, off, nb)]]
        gap = self.coalesce_gap
        for s, off, nb, t in wanted:
            if groups and groups[len(groups) - 1][0] == s and off <= groups[len(groups) - 1][2] + gap:
                g = groups[len(groups) - 1]
                g[2] = max(g[2], off + nb)
                g[3].append((t, off, nb))
            else:
                groups.append([s, off, off + nb, [(t, off, nb)]])
        cdef _Views RV = _Views(len(groups))
        if not groups:
            return RV
        rr = self.range_request
        bufs = self.store.get_ranges([(keys[g[0]], rr(g[1], g[2])) for g in groups])
        if len(bufs) != len(groups):
            raise DecodeError(f"store returned {len(bufs)} values for {len(groups)} ranges")
        for q in range(len(groups)):
            g = groups[q]
            if bufs[q] is None:
                continue  # the shard vanished between the two reads: fill
            ptr = RV.take(q, bufs[q], &ln)
            if ln != <size_t>(g[2] - g[1]):
                raise DecodeError(
                    f"sharding codec: expected {g[2] - g[1]} bytes at [{g[1]}, {g[2]}) of the "
                    f"shard, got {ln} (truncated shard, or an index entry pointing past its "
                    f"end) (shard key {keys[g[0]]!r})")
            g1 = g[1]
            for t, off, nb in g[3]:
                off -= g1
                # inside the buffer: off - start + nb <= end - start == ln
                A.src[t] = ptr + off
                A.lens[t] = <size_t>nb
        return RV
