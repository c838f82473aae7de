# _ShardWriter: writes of sharded arrays: whole shards encoded back to back, and
# read-modify-write of partly covered shards (old inner chunks kept, index rebuilt).
# (Included by _pipeline.pyx; the engine's layers are one class each, lowest first.)

cdef class _ShardWriter(_Reader):
    """The sharded write path, below NativeEngine.write."""

    cdef _write_sharded(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                        bint write_empty):
        """Encode the inner chunks of each (fully covered) shard back to back straight
        into one buffer, add the index (+ crc32c) and store the shard with one write:
        the C workers write the files themselves where the store offers paths (and there
        are enough shards), else the buffer is the bytes object stored (_encode_shards).
        Shards whose inner chunks are all fill are deleted."""
        shards = self._shards(I)
        cdef Py_ssize_t i0 = 0, i1, ns = len(shards)
        paths_of = getattr(self.store, "native_write_paths", None)
        if paths_of is not None and ns >= max(1, int(config.num_threads)):
            # one shard per worker task, assembled and written (temp + rename) in C;
            # enough shards to keep every worker busy
            while i0 < ns:
                i1 = min(ns, i0 + 256)
                if not self._write_shard_files(I, L, base, shards[i0:i1], write_empty,
                                               paths_of, 0):
                    break
                i0 = i1
            if i0 >= ns:
                return
            shards = shards[i0:]
        cdef _Writer writer = _Writer()
        try:
            self._encode_shards(I, L, base, write_empty, shards, writer)
        finally:
            writer.finish()

    cdef bint _write_shard_files(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                                 list shards, bint write_empty, object paths_of,
                                 int attempt) except -1:
        """Whole shards encoded, assembled and written atomically by the C workers (one
        shard per task); False if the store declined.  All-absent shards are deleted
        through the store; a directory pruned meanwhile is re-created and the shard
        written again."""
        cdef Py_ssize_t ns = len(shards), s
        cdef zf_shard_layout S
        cdef int64_t[::1] flat
        cdef size_t *first = <size_t *>calloc(ns + 1, sizeof(size_t))
        cdef const char **cpaths = <const char **>calloc(max(1, ns), sizeof(char *))
        cdef int *status = <int *>calloc(max(1, ns), sizeof(int))
        cdef int *errnos = <int *>calloc(max(1, ns), sizeof(int))
        cdef int64_t *failed = <int64_t *>calloc(max(1, ns), sizeof(int64_t))
        cdef zf_pool *pool
        cdef int workers, fsync_
        cdef const char *ctag
        try:
            if not (first and cpaths and status and errnos and failed):
                raise MemoryError()
            A, flat_arr = self._shard_task_tables(I, shards, first)
            flat = flat_arr
            keys = [sh[0] for sh in shards]
            paths = paths_of(keys, recheck=True) if attempt else paths_of(keys)
            if paths is None:
                return False
            if len(paths) != ns:
                raise StoreError(f"store returned {len(paths)} paths for {ns} keys")
            for s in range(ns):
                # `paths` (a list of bytes) outlives the nogil block below
                cpaths[s] = <const char *>(<bytes>paths[s])
            S.ninner = <size_t>self.ninner
            S.index_nbytes = <size_t>self.index_nbytes
            S.index_start = self.index_start
            S.index_big = self.index_big
            S.index_crc = self.index_crc
            fsync_ = 1 if getattr(self.store, "fsync", False) else 0
            tag = _next_tag()
            ctag = <const char *>(<bytes>tag)
            pool = _get_pool(max(1, int(config.num_threads)))
            workers = chunk_threads(ns)
            # `base` is the caller's (read-only) value array; entries/flat/first are ours
            # and sized by the shard list; paths/tag are bytes kept alive above; each task
            # writes only its own shard file (unique temp name) and status slots.
            with nogil:
                zf_batch_encode_shards_files(pool, workers, L, &S, base, <size_t>ns, first,
                                             (<_TaskArrays>A).entries, &flat[0],
                                             1 if write_empty else 0, cpaths, fsync_, ctag,
                                             status, errnos, failed)
            for s in range(ns):
                if status[s] != ZF_OK and status[s] != ZF_BATCH_DELETE \
                        and status[s] != ZF_BATCH_IO_ERROR:
                    where = keys[s]
                    if failed[s] >= 0:
                        where = f"{keys[s]}, inner chunk {flat[failed[s]]}"
                    raise _error(status[s], where, True)
            retry = [s for s in range(ns)
                     if status[s] == ZF_BATCH_IO_ERROR and errnos[s] == ENOENT_]
            if retry and attempt < 32:
                self._write_shard_files(I, L, base, [shards[s] for s in retry], write_empty,
                                        paths_of, attempt + 1)
                for s in retry:
                    status[s] = ZF_OK
            for s in range(ns):
                if status[s] == ZF_BATCH_IO_ERROR:
                    raise StoreError(f"writing key {keys[s]!r}: {os.strerror(errnos[s])}")
            to_delete = [keys[s] for s in range(ns) if status[s] == ZF_BATCH_DELETE]
            if to_delete:
                self.store.delete_many(to_delete)
            return True
        finally:
            free(first)
            free(cpaths)
            free(status)
            free(errnos)
            free(failed)

    cdef _encode_shards(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                        bint write_empty, list shards, _Writer writer):
        """Whole shards encoded by the C workers straight into the bytes objects that
        are stored (zf_shard_encode_mem), in groups of at most ``config.batch_bytes`` of
        capacity (each shard's object is allocated at every inner chunk's encode bound
        plus the index; only the pages written are ever touched), split into groups of
        equal size so that every group keeps the workers equally busy."""
        cdef Py_ssize_t ns = len(shards), per, ngroups, g0, nmax = 1
        cdef int threads = max(1, int(config.num_threads))
        cdef size_t bound = zf_shard_chunk_bound(L)
        if ns == 0:
            return
        if bound == 0:  # pragma: no cover - __init__ checked every codec has a bound
            raise ValueError("the shard's inner chunks have no encode bound")
        for sh in shards:
            nmax = max(nmax, <Py_ssize_t>sh[2])
        # (Python ints: no overflow; a shard over the address space fails its allocation)
        per = max(1, int(config.batch_bytes) // (nmax * int(bound) + self.index_nbytes))
        if per >= threads:
            per -= per % threads  # whole rounds of the workers
        ngroups = (ns + per - 1) // per
        per = (ns + ngroups - 1) // ngroups
        for g0 in range(0, ns, per):
            self._encode_shard_group(I, L, base, write_empty, shards[g0:g0 + per], writer,
                                     threads, bound)

    cdef tuple _shard_task_tables(self, _Tables I, list shards, size_t *first):
        """The tasks of whole shards back to back: (a _TaskArrays of their entry rows,
        int64 inner chunk numbers); first[s] receives shard s's first task and
        first[len(shards)] the number of tasks."""
        cdef Py_ssize_t nt = 0, s, t0 = 0
        cdef int nd = self.ndim
        cdef int64_t[::1] flat
        for sh in shards:
            nt += <Py_ssize_t>sh[2]
        A = _TaskArrays(nt, nd)
        flat_arr = np.empty(max(nt, 1), dtype=np.int64)
        flat = flat_arr
        for s in range(len(shards)):
            first[s] = <size_t>t0
            self._shard_tasks(I, shards[s][1], (<_TaskArrays>A).entries + t0 * nd, &flat[t0])
            t0 += <Py_ssize_t>shards[s][2]
        first[len(shards)] = <size_t>t0
        return A, flat_arr

    cdef _encode_shard_group(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                             bint write_empty, list shards, _Writer writer, int threads,
                             size_t bound):
        """One group of whole shards: a bytes object per shard allocated at its bound
        (``bound`` per inner chunk + the index), the inner chunks encoded into it back to
        back, all-fill ones absent, the index (+ crc32c) added, then shrunk in place to
        its size (_PyBytes_Resize: a realloc, an mremap for large blocks, never a copy of
        the shard) and stored.  A shard with no inner chunk present is deleted unless
        write_empty.  With fewer shards than workers each shard is split into runs of
        inner chunks encoded by different workers (and joined by one memmove each)."""
        cdef Py_ssize_t ns = len(shards), s
        cdef int workers, huge
        cdef size_t nseg = 1
        cdef zf_shard_layout S
        cdef int64_t[::1] flat
        cdef zf_pool *pool
        cdef size_t *first = <size_t *>calloc(ns + 1, sizeof(size_t))
        cdef PyObject **outs = <PyObject **>calloc(max(1, ns), sizeof(PyObject *))
        cdef uint8_t **dst = <uint8_t **>calloc(max(1, ns), sizeof(uint8_t *))
        cdef size_t *dstcap = <size_t *>calloc(max(1, ns), sizeof(size_t))
        cdef size_t *dstlen = <size_t *>calloc(max(1, ns), sizeof(size_t))
        cdef int *status = <int *>calloc(max(1, ns), sizeof(int))
        cdef int64_t *failed = <int64_t *>calloc(max(1, ns), sizeof(int64_t))
        try:
            if not (first and outs and dst and dstcap and dstlen and status and failed):
                raise MemoryError()
            A, flat_arr = self._shard_task_tables(I, shards, first)
            flat = flat_arr
            for s in range(ns):
                cap = shards[s][2] * int(bound) + self.index_nbytes
                if cap > PY_SSIZE_T_MAX:
                    raise MemoryError(f"shard {shards[s][0]!r} needs {cap} bytes to encode")
                dstcap[s] = <size_t>cap
                outs[s] = zf_bytes_new(NULL, <Py_ssize_t>cap)
                # the fresh bytes object is ours alone until it is stored below
                dst[s] = <uint8_t *>zf_bytes_data(outs[s])
            S.ninner = <size_t>self.ninner
            S.index_nbytes = <size_t>self.index_nbytes
            S.index_start = self.index_start
            S.index_big = self.index_big
            S.index_crc = self.index_crc
            # enough runs to give every worker an equal share (a few runs per worker at
            # most: joining a shard's runs moves all but its first)
            while (ns * <Py_ssize_t>nseg) % threads != 0 and ns * <Py_ssize_t>nseg < 4 * threads:
                nseg += 1
            pool = _get_pool(threads)
            workers = chunk_threads(ns * <Py_ssize_t>nseg)
            # `base` is the caller's (read-only) value array; entries/flat/first are ours
            # and sized by the shard list; each run writes only its own slots of its
            # shard's fresh bytes object dst[s] (capacity dstcap[s] checked in C), and
            # the join and index writes run on this thread after the workers are done.
            huge = 1 if _numpy_hugepage() else 0
            with nogil:
                zf_shard_encode_mem(pool, workers, L, &S, base, <size_t>ns, first,
                                    (<_TaskArrays>A).entries, &flat[0], nseg,
                                    1 if write_empty else 0, huge, dst, dstcap, dstlen,
                                    status, failed)
            keys = [sh[0] for sh in shards]
            for s in range(ns):
                if status[s] != ZF_OK and status[s] != ZF_BATCH_DELETE:
                    where = keys[s]
                    if failed[s] >= 0:
                        where = f"{keys[s]}, inner chunk {flat[failed[s]]}"
                    raise _error(status[s], where, True)
            set_keys = []
            values = []
            to_delete = []
            for s in range(ns):
                if status[s] == ZF_BATCH_DELETE:
                    to_delete.append(keys[s])
                    continue
                if dstlen[s] != dstcap[s]:
                    # shrinks in place (refcount 1, a realloc); on failure outs[s] is NULL
                    _PyBytes_Resize(&outs[s], <Py_ssize_t>dstlen[s])
                set_keys.append(keys[s])
                values.append(<object>outs[s])
            if self.trusted_set is not None:
                # fresh bytes under keys built here: stored as they are, in order
                writer.wait()
                if set_keys:
                    self.trusted_set(set_keys, values)
                if to_delete:
                    self.store.delete_many(to_delete)
            else:
                # stored on the helper thread while the next group encodes
                writer.submit(self.store, list(zip(set_keys, values)), to_delete)
        finally:
            if outs != NULL:
                for s in range(ns):
                    Py_XDECREF(outs[s])
            free(first)
            free(outs)
            free(dst)
            free(dstcap)
            free(dstlen)
            free(status)
            free(failed)

    cdef _write_partial_shards(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                               bint write_empty):
        """Read-modify-write of shards the selection covers only partly (any shard of it
        may also be whole): under the key locks, the old shards of a group are fetched
        with one get_many; per shard, its index is parsed here, the touched inner chunks
        are built (partly covered ones merged onto their decoded old version) and encoded
        in parallel, untouched inner chunks are kept as their raw old bytes, and the shard
        is reassembled (inner chunk order) with a parallel copy and stored once."""
        shards = self._shards(I)
        cdef Py_ssize_t i0 = 0, i1, ns = len(shards), per_group
        # a group holds its old shards and the new ones: ~64 MiB of decoded-size data
        per_group = max(1, (64 << 20) // max(1, <Py_ssize_t>(self.ninner * self.base.chunk_nbytes)))
        while i0 < ns:
            i1 = min(ns, i0 + per_group)
            self._rmw_shard_group(I, L, base, write_empty, shards[i0:i1])
            i0 = i1

    cdef _write_points_sharded(self, object indexer, object value, const uint8_t *base,
                               bint write_empty):
        """A coordinate (vindex / mask) write to a sharded array: the points split by
        inner chunk (_inner_point_tables), each touched shard read-modify-written."""
        cdef int nd = self.ndim
        got = self._inner_point_tables(indexer, value.dtype.itemsize, True)
        if got is None:
            return
        cdef _Tables T = got[0]
        shards, entries, flat_all, comp = got[1], got[2], got[3], got[4]
        cdef zf_batch_layout L
        self._layout(T, &L, False)
        cdef Py_ssize_t i0 = 0, i1, ns = len(shards), per_group, tasks, t0 = 0
        per_group = max(1, (64 << 20) // max(1, <Py_ssize_t>(self.ninner * self.base.chunk_nbytes)))
        while i0 < ns:
            i1 = min(ns, i0 + per_group)
            tasks = sum(sh[2] for sh in shards[i0:i1])
            self._rmw_shard_group(T, &L, base, write_empty, shards[i0:i1],
                                  (entries[t0 * nd:(t0 + tasks) * nd],
                                   flat_all[t0:t0 + tasks], comp[t0:t0 + tasks]))
            t0 += tasks
            i0 = i1

    cdef _rmw_shard_group(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                          bint write_empty, list shards, object pre=None):
        """Read-modify-write one group of shards (see _write_partial_shards).  ``pre``:
        (int32 entry rows, int64 inner chunk numbers, uint8 completeness) of the group's
        tasks in shard order, given instead of being derived from product tables
        (coordinate writes)."""
        cdef Py_ssize_t ns = len(shards), s, n, t, j, d, nmax = 1, pos, total
        cdef Py_ssize_t k = self.index_nbytes, ni = self.ninner
        cdef int nd = self.ndim
        cdef int64_t[::1] flat
        cdef int64_t[::1] tmap
        cdef uint64_t[::1] iv
        cdef size_t bound = self.bound, ln
        cdef const uint8_t *ptr
        cdef uint8_t *stage = NULL
        cdef uint8_t **dst = NULL
        cdef size_t *dstcap = NULL
        cdef const uint8_t **old = NULL
        cdef size_t *oldlen = NULL
        cdef const uint8_t **seg = NULL
        cdef size_t *seglen = NULL
        cdef size_t *segoff = NULL
        cdef uint8_t *buf
        cdef uint8_t *ip
        cdef PyObject *owned = NULL
        cdef zf_pool *pool
        cdef int workers
        cdef bint present, any_present
        cdef const int64_t *cnt
        cdef const int64_t *stp
        cdef int32_t e
        cdef Py_ssize_t t0 = 0
        cdef int32_t[::1] pe
        cdef int64_t[::1] pf
        cdef uint8_t[::1] pc
        if pre is not None:
            pe = pre[0]
            pf = pre[1]
            pc = pre[2]
        keys = [sh[0] for sh in shards]
        for sh in shards:
            nmax = max(nmax, <Py_ssize_t>sh[2])
        iv_arr = np.empty(2 * max(ni, 1), dtype=np.uint64)
        iv = iv_arr
        map_arr = np.empty(max(ni, 1), dtype=np.int64)
        tmap = map_arr
        V = _Views(ns)
        lockf = self.fallback._locks
        # fixed order so two writers never deadlock on each other's stripes
        locks = sorted({id(lk): lk for lk in (lockf(key) for key in keys)}.values(), key=id)
        for lk in locks:
            lk.acquire()
        stage = <uint8_t *>malloc(<size_t>nmax * bound)
        dst = <uint8_t **>calloc(nmax, sizeof(uint8_t *))
        dstcap = <size_t *>calloc(nmax, sizeof(size_t))
        old = <const uint8_t **>calloc(nmax, sizeof(uint8_t *))
        oldlen = <size_t *>calloc(nmax, sizeof(size_t))
        seg = <const uint8_t **>calloc(max(ni, 1), sizeof(uint8_t *))
        seglen = <size_t *>calloc(max(ni, 1), sizeof(size_t))
        segoff = <size_t *>calloc(max(ni, 1), sizeof(size_t))
        to_set = []
        to_delete = []
        try:
            if not (stage and dst and dstcap and old and oldlen and seg and seglen and segoff):
                raise MemoryError()
            olds = self.store.get_many(keys)
            if len(olds) != ns:
                raise DecodeError(f"store returned {len(olds)} values for {ns} keys")
            pool = _get_pool(max(1, int(config.num_threads)))
            for s in range(ns):
                key, row, n = shards[s]
                A = _TaskArrays(n, nd)
                flat_arr = np.empty(max(n, 1), dtype=np.int64)
                flat = flat_arr
                if pre is None:
                    self._shard_tasks(I, row, (<_TaskArrays>A).entries, &flat[0])
                else:
                    for t in range(n):
                        flat[t] = pf[t0 + t]
                        (<_TaskArrays>A).complete[t] = pc[t0 + t]
                        for d in range(nd):
                            (<_TaskArrays>A).entries[t * nd + d] = pe[(t0 + t) * nd + d]
                    t0 += n
                present = olds[s] is not None
                if present:
                    ptr = V.take(s, olds[s], &ln)
                    if <Py_ssize_t>ln < k:
                        raise _short_index(k, <Py_ssize_t>ln, key)
                    # the index lies inside the held buffer (ln >= k)
                    self._parse_index(ptr if self.index_start else ptr + (ln - <size_t>k),
                                      <size_t>k, &iv[0], key, <int64_t>ln)
                for j in range(ni):
                    tmap[j] = -1
                for t in range(n):
                    # an inner chunk is complete when every dim covers all of it
                    if pre is None:
                        (<_TaskArrays>A).complete[t] = 1
                    for d in range(nd if pre is None else 0):
                        e = (<_TaskArrays>A).entries[t * nd + d]
                        if I.dims[d].cidx != NULL:
                            # an index list covers the inner chunk only when its distinct
                            # indices are all of them (duplicates do not count)
                            if not I.full[d][e]:
                                (<_TaskArrays>A).complete[t] = 0
                        elif I.dims[d].count[e] != self.chunk_shape[d] or I.dims[d].cstep[e] != 1:
                            (<_TaskArrays>A).complete[t] = 0
                    j = flat[t]
                    tmap[j] = t
                    old[t] = NULL
                    oldlen[t] = 0
                    if present and not (<_TaskArrays>A).complete[t] and not (
                            iv[2 * j] == _ABSENT and iv[2 * j + 1] == _ABSENT):
                        # _parse_index checked the entry lies inside the held shard
                        old[t] = ptr + iv[2 * j]
                        oldlen[t] = <size_t>iv[2 * j + 1]
                    dst[t] = stage + t * bound
                    dstcap[t] = bound
                workers = chunk_threads(n)
                # `base` is the caller's value array, old inner chunks point into shards
                # held by V; each task writes only its own slot dst[t] of our staging buffer
                with nogil:
                    zf_batch_encode(pool, workers, L, base, <size_t>n,
                                    (<_TaskArrays>A).entries, (<_TaskArrays>A).complete, old,
                                    oldlen, 0, dst, dstcap, (<_TaskArrays>A).lens,
                                    (<_TaskArrays>A).status)
                for t in range(n):
                    st = (<_TaskArrays>A).status[t]
                    if st != ZF_OK and st != ZF_BATCH_DELETE:
                        raise _error(st, f"{key}, inner chunk {flat[t]}", old[t] == NULL)
                # the new shard: inner chunks in order, touched ones re-encoded, the
                # others their old bytes
                pos = k if self.index_start else 0
                any_present = False
                for j in range(ni):
                    t = tmap[j]
                    seglen[j] = 0
                    seg[j] = NULL
                    if t >= 0:
                        if (<_TaskArrays>A).status[t] != ZF_BATCH_DELETE:
                            seg[j] = dst[t]
                            seglen[j] = (<_TaskArrays>A).lens[t]
                    elif present and not (iv[2 * j] == _ABSENT and iv[2 * j + 1] == _ABSENT):
                        seg[j] = ptr + iv[2 * j]
                        seglen[j] = <size_t>iv[2 * j + 1]
                    if seg[j] != NULL:
                        any_present = True
                        segoff[j] = <size_t>pos
                        pos += <Py_ssize_t>seglen[j]
                if not any_present and not write_empty:
                    if present:
                        to_delete.append(key)
                    continue
                total = pos if self.index_start else pos + k  # pos counts a leading index
                owned = zf_bytes_new(NULL, total)
                buf = <uint8_t *>zf_bytes_data(owned)
                workers = chunk_threads(ni)
                # the fresh bytes are ours alone; sources are our staging slots or the
                # held old shard; every segment goes to its own disjoint range
                with nogil:
                    zf_batch_copy_segments(pool, workers, <size_t>ni,
                                           <const uint8_t *const *>seg, seglen, buf, segoff)
                    ip = buf if self.index_start else buf + pos
                    for j in range(ni):
                        _wr64(ip + 16 * j, segoff[j] if seg[j] != NULL else _ABSENT,
                              self.index_big)
                        _wr64(ip + 16 * j + 8, seglen[j] if seg[j] != NULL else _ABSENT,
                              self.index_big)
                    if self.index_crc:
                        _wr32le(ip + 16 * ni, zf_crc32c_update(0, ip, <size_t>(16 * ni)))
                to_set.append((key, <object>owned))
                Py_XDECREF(owned)
                owned = NULL
            V.release()
            if to_set:
                self.store.set_many(to_set)
            if to_delete:
                self.store.delete_many(to_delete)
        finally:
            Py_XDECREF(owned)
            V.release()
            for lk in reversed(locks):
                lk.release()
            free(stage)
            free(dst)
            free(dstcap)
            free(old)
            free(oldlen)
            free(seg)
            free(seglen)
            free(segoff)
