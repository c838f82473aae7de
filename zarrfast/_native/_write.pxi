# NativeEngine: the write engine on top of the read layers: gather from the value,
# encode, store (batched store calls or native file writes); the public engine class.
# (Included by _pipeline.pyx; the engine's layers are one class each, lowest first.)

cdef class NativeEngine(_ShardWriter):
    """Batch decode/encode in C for arrays whose whole codec chain is native.

    Built by :func:`zarrfast._native.engine.maybe_engine`; ``plan`` is the dict it
    derives from the metadata (layout, codecs, fill patterns, key format).
    """

    # ------------------------------------------------------------------ write
    def write(self, projections, value, bint flat_value, bint write_empty_chunks):
        """Encode and store every chunk of ``projections`` (see PythonEngine.write)."""
        if flat_value and self.sharded and value.dtype == self.dtype and self.ndim > 0 \
                and value.flags.c_contiguous \
                and getattr(projections, "_groups", None) is not None:
            # coordinate / mask write to a sharded array (see _write_points_sharded)
            return self._write_points_sharded(projections, value,
                                              <const uint8_t *>_array_address(value),
                                              write_empty_chunks)
        cdef _Tables T = self._route(projections, value, flat_value, False)
        if T is None:
            return self.fallback.write(projections, value, flat_value, write_empty_chunks)
        cdef zf_batch_layout L
        cdef const uint8_t *base = <const uint8_t *>_array_address(value)
        if self.sharded:
            whole = all(all(c) for c in T.complete)
            T = self._inner_tables(T)
            self._layout(T, &L, False)
            if not whole:
                return self._write_partial_shards(T, &L, base, write_empty_chunks)
            return self._write_sharded(T, &L, base, write_empty_chunks)
        self._layout(T, &L, False)
        cdef Py_ssize_t size
        cdef Py_ssize_t t0 = 0, nt
        paths_of = getattr(self.store, "native_write_paths", None)
        size = self._batch_tasks(paths_of is not None or (
            self.trusted_set is not None and self.base.ncodecs == 0))
        if paths_of is not None:
            # the workers encode and write the files themselves (atomically): a batch
            # holds one encoded chunk per worker, so its size only bounds the key lists
            while t0 < T.ntasks:
                nt = min(size, T.ntasks - t0)
                if not self._write_files(T, &L, base, t0, nt, write_empty_chunks, paths_of):
                    break
                t0 += nt
            if t0 >= T.ntasks:
                return
        # bound the encoded bytes a batch holds (outputs are allocated at the encode bound)
        size = max(1, min(size, int(config.batch_bytes) // max(<Py_ssize_t>self.bound, 1)))
        writer = None
        if (T.ntasks > size or T.ntasks > 8) and self.trusted_set is None:
            # store batch k on a helper thread while batch k+1 encodes: smaller batches
            # (~32 MiB of outputs) keep both sides busy and bound what is in flight
            size = max(1, min(size, max(2 * chunk_threads(size),
                                        (32 << 20) // max(<Py_ssize_t>self.bound, 1))))
            writer = _Writer()
        try:
            while t0 < T.ntasks:
                nt = min(size, T.ntasks - t0)
                self._write_batch(T, &L, base, t0, nt, write_empty_chunks, writer)
                t0 += nt
        finally:
            if writer is not None:
                writer.finish()

    cdef bint _write_files(self, _Tables T, zf_batch_layout *L, const uint8_t *base,
                           Py_ssize_t t0, Py_ssize_t nt, bint write_empty,
                           object paths_of) except -1:
        """Tasks [t0, t0 + nt) encoded and written to files by the C workers (atomic temp
        file + rename each); False if the store declined (then it is written through
        the store).  All-fill chunks are deleted through the store."""
        cdef _TaskArrays A = _TaskArrays(nt, self.ndim)
        cdef _Views V = _Views(nt)
        cdef const char **cpaths = <const char **>calloc(max(1, nt), sizeof(char *))
        cdef int *errnos = <int *>calloc(max(1, nt), sizeof(int))
        cdef int *rerr = <int *>calloc(max(1, nt), sizeof(int))
        cdef Py_ssize_t i, j, nd = self.ndim, nr
        cdef zf_pool *pool
        cdef int workers, attempt
        cdef int fsync_ = 0
        cdef const char *ctag
        locks = []
        try:
            if cpaths == NULL or errnos == NULL or rerr == NULL:
                raise MemoryError()
            keys = self._batch(T, t0, nt, A.entries, A.complete)
            paths = paths_of(keys)
            if paths is None:
                return False
            if len(paths) != nt:
                raise StoreError(f"store returned {len(paths)} paths for {nt} keys")
            fsync_ = 1 if getattr(self.store, "fsync", False) else 0
            partial = [i for i in range(nt) if not A.complete[i]]
            lockf = self.fallback._locks
            # fixed order so two writers never deadlock on each other's stripes
            locks = sorted({id(lk): lk for lk in (lockf(keys[i]) for i in partial)}.values(),
                           key=id)
            for lk in locks:
                lk.acquire()
            if partial:
                values = self.store.get_many([keys[i] for i in partial])
                for j, i in enumerate(partial):
                    if values[j] is not None:
                        A.src[i] = V.take(i, values[j], &A.lens[i])
            for i in range(nt):
                # `paths` (a list of bytes) outlives the nogil block below
                cpaths[i] = <const char *>(<bytes>paths[i])
            tag = _next_tag()
            ctag = <const char *>(<bytes>tag)
            pool = _get_pool(max(1, int(config.num_threads)))
            workers = chunk_threads(nt)
            # `base` is the caller's (read-only) value array, old chunks are held views
            # (V), paths/tag are bytes kept alive above; each task writes only its own
            # file (unique temp name) and its own status/errno slot.
            with nogil:
                zf_batch_encode_files(pool, workers, L, base, <size_t>nt, A.entries,
                                      A.complete, A.src, A.lens, 1 if write_empty else 0,
                                      cpaths, fsync_, ctag, A.status, errnos)
            for i in range(nt):
                if A.status[i] != ZF_OK and A.status[i] != ZF_BATCH_DELETE \
                        and A.status[i] != ZF_BATCH_IO_ERROR:
                    raise _error(A.status[i], keys[i], A.complete[i] or A.src[i] == NULL)
            # a directory pruned by a concurrent delete: re-create it and write again
            for attempt in range(32):
                retry = [i for i in range(nt)
                         if A.status[i] == ZF_BATCH_IO_ERROR and errnos[i] == ENOENT_]
                if not retry:
                    break
                rpaths = paths_of([keys[i] for i in retry], recheck=True)
                nr = len(retry)
                R = _TaskArrays(nr, self.ndim)
                for j in range(nr):
                    i = retry[j]
                    memcpy(&R.entries[j * nd], &A.entries[i * nd], nd * sizeof(int32_t))
                    R.complete[j] = A.complete[i]
                    R.src[j] = A.src[i]
                    R.lens[j] = A.lens[i]
                    cpaths[j] = <const char *>(<bytes>rpaths[j])
                    rerr[j] = 0
                workers = chunk_threads(nr)
                # as above for the retried subset: old values still held by V, rpaths
                # kept alive by the list, each task owns its file and slots
                with nogil:
                    zf_batch_encode_files(pool, workers, L, base, <size_t>nr,
                                          R.entries, R.complete, R.src, R.lens,
                                          1 if write_empty else 0, cpaths, fsync_, ctag,
                                          R.status, rerr)
                for j in range(nr):
                    i = retry[j]
                    A.status[i] = R.status[j]
                    errnos[i] = rerr[j]
                    if R.status[j] != ZF_OK and R.status[j] != ZF_BATCH_DELETE \
                            and R.status[j] != ZF_BATCH_IO_ERROR:
                        raise _error(R.status[j], keys[i], A.complete[i] or A.src[i] == NULL)
            failed = [i for i in range(nt) if A.status[i] == ZF_BATCH_IO_ERROR]
            if failed:
                # let the store's own write raise its mapped error (or succeed)
                i = failed[0]
                raise StoreError(
                    f"writing key {keys[i]!r}: {os.strerror(errnos[i])}")
            to_delete = [keys[i] for i in range(nt) if A.status[i] == ZF_BATCH_DELETE]
            if to_delete:
                self.store.delete_many(to_delete)
            return True
        finally:
            V.release()
            for lk in reversed(locks):
                lk.release()
            free(cpaths)
            free(errnos)
            free(rerr)

    cdef _write_batch(self, _Tables T, zf_batch_layout *L, const uint8_t *base, Py_ssize_t t0,
                      Py_ssize_t nt, bint write_empty, object writer):
        cdef int32_t *entries = <int32_t *>calloc(max(1, nt * max(self.ndim, 1)), sizeof(int32_t))
        cdef uint8_t *complete = <uint8_t *>calloc(max(1, nt), 1)
        cdef Py_buffer *views = <Py_buffer *>calloc(max(1, nt), sizeof(Py_buffer))
        cdef uint8_t *held = <uint8_t *>calloc(max(1, nt), 1)
        cdef const uint8_t **old = <const uint8_t **>calloc(max(1, nt), sizeof(uint8_t *))
        cdef size_t *oldlen = <size_t *>calloc(max(1, nt), sizeof(size_t))
        cdef PyObject **outs = <PyObject **>calloc(max(1, nt), sizeof(PyObject *))
        cdef uint8_t **dst = <uint8_t **>calloc(max(1, nt), sizeof(uint8_t *))
        cdef size_t *dstcap = <size_t *>calloc(max(1, nt), sizeof(size_t))
        cdef size_t *dstlen = <size_t *>calloc(max(1, nt), sizeof(size_t))
        cdef int *status = <int *>calloc(max(1, nt), sizeof(int))
        cdef Py_ssize_t i, j
        cdef zf_pool *pool
        cdef int workers
        cdef PyObject *owned
        locks = []
        try:
            if not (entries and complete and views and held and old and oldlen and outs and dst
                    and dstcap and dstlen and status):
                raise MemoryError()
            keys = self._batch(T, t0, nt, entries, complete)
            partial = [i for i in range(nt) if not complete[i]]
            lockf = self.fallback._locks
            # fixed order so two writers never deadlock on each other's stripes
            locks = sorted({id(lk): lk for lk in (lockf(keys[i]) for i in partial)}.values(),
                           key=id)
            for lk in locks:
                lk.acquire()
            if partial:
                values = self.store.get_many([keys[i] for i in partial])
                for j, i in enumerate(partial):
                    b = values[j]
                    if b is None:
                        continue
                    PyObject_GetBuffer(b, &views[i], PyBUF_SIMPLE)
                    held[i] = 1
                    old[i] = <const uint8_t *>views[i].buf if views[i].buf != NULL else _EMPTY
                    oldlen[i] = <size_t>views[i].len
            for i in range(nt):
                outs[i] = zf_bytes_new(NULL, <Py_ssize_t>self.bound)
                dst[i] = <uint8_t *>zf_bytes_data(outs[i])
                dstcap[i] = self.bound
            pool = _get_pool(max(1, int(config.num_threads)))
            workers = chunk_threads(nt)
            # `base` is the caller's (read-only) value array, old chunks are held views,
            # each task writes only its own fresh, unshared bytes object dst[i].
            with nogil:
                zf_batch_encode(pool, workers, L, base, <size_t>nt, entries, complete, old,
                                oldlen, 1 if write_empty else 0, dst, dstcap, dstlen, status)
            for i in range(nt):
                if held[i]:
                    PyBuffer_Release(&views[i])
                    held[i] = 0
            for i in range(nt):
                if status[i] != ZF_OK and status[i] != ZF_BATCH_DELETE:
                    raise _error(status[i], keys[i], complete[i] or old[i] == NULL)
            to_set = []
            to_delete = []
            set_keys = []
            trusted = self.trusted_set is not None
            for i in range(nt):
                if status[i] == ZF_BATCH_DELETE:
                    to_delete.append(keys[i])
                    continue
                owned = outs[i]
                outs[i] = NULL
                if dstlen[i] != self.bound:
                    if _PyBytes_Resize(&owned, <Py_ssize_t>dstlen[i]) < 0:  # pragma: no cover
                        raise MemoryError()
                if trusted:
                    set_keys.append(keys[i])
                    to_set.append(<object>owned)
                else:
                    to_set.append((keys[i], <object>owned))
                Py_XDECREF(owned)
            if trusted:
                # fresh bytes under keys built here: stored as they are, in batch order
                if writer is not None:
                    (<_Writer>writer).wait()
                if set_keys:
                    self.trusted_set(set_keys, to_set)
                if to_delete:
                    self.store.delete_many(to_delete)
            elif writer is not None and not locks:
                (<_Writer>writer).submit(self.store, to_set, to_delete)
            else:
                if writer is not None:
                    (<_Writer>writer).wait()  # keep stores in batch order
                if to_set:
                    self.store.set_many(to_set)
                if to_delete:
                    self.store.delete_many(to_delete)
        finally:
            for lk in reversed(locks):
                lk.release()
            if held != NULL and views != NULL:
                for i in range(nt):
                    if held[i]:
                        PyBuffer_Release(&views[i])
            if outs != NULL:
                for i in range(nt):
                    Py_XDECREF(outs[i])
            free(entries)
            free(complete)
            free(views)
            free(held)
            free(old)
            free(oldlen)
            free(outs)
            free(dst)
            free(dstcap)
            free(dstlen)
            free(status)
