# _ShardTables: sharded arrays' inner-chunk tables, the shards a selection touches
# and the shard index parser, shared by the sharded read and write paths.
# (Included by _pipeline.pyx; the engine's layers are one class each, lowest first.)

cdef class _ShardTables(_EngineBase):
    """Inner-chunk task tables and shard index parsing for sharded arrays."""

    # ------------------------------------------------------------------ sharded
    cdef _Tables _inner_tables(self, _Tables T):
        """Split every shard-level entry into inner-chunk entries (same four tables,
        chunk-local to the inner chunk) and remember which shard entry owns each."""
        cdef _Tables I = _Tables.__new__(_Tables)
        cdef int d, p
        cdef Py_ssize_t e, n, cnt
        cdef int64_t c, start, step, m, st, pos, j, i, ilast
        cdef int64_t[:, ::1] tv
        cdef int64_t[::1] lov, hiv, jv
        I.arrays = []
        I.keyparts = T.keyparts
        I.complete = T.complete
        I.kvals = T.kvals
        I.outer = T
        I.lo = []
        I.hi = []
        I.jin = []
        I.ntasks = 1
        I.lists = {}
        for d in range(self.ndim):
            c = self.chunk_shape[d]
            st = T.strides[d]
            n = T.nentries[d]
            if T.dims[d].cidx != NULL:
                self._inner_list_dim(T, I, d)
                continue
            lo = np.empty(n, dtype=np.int64)
            hi = np.empty(n, dtype=np.int64)
            lov = lo
            hiv = hi
            tab = None
            jin = None
            for p in range(2):  # pass 0 counts, pass 1 fills
                cnt = 0
                for e in range(n):
                    start = T.dims[d].cstart[e]
                    step = T.dims[d].cstep[e]
                    m = T.dims[d].count[e]
                    lov[e] = cnt
                    i = 0
                    while i < m:
                        pos = start + i * step
                        j = pos // c
                        if step > 0:
                            ilast = i + ((j + 1) * c - 1 - pos) // step
                        else:
                            ilast = i + (pos - j * c) // (-step)
                        if ilast > m - 1:
                            ilast = m - 1
                        if p == 1:
                            tv[0, cnt] = pos - j * c
                            tv[1, cnt] = step
                            tv[2, cnt] = ilast - i + 1
                            tv[3, cnt] = T.dims[d].aoff[e] + i * st
                            jv[cnt] = j
                        cnt += 1
                        i = ilast + 1
                    hiv[e] = cnt
                if p == 0:
                    tab = np.empty((4, max(cnt, 1)), dtype=np.int64)
                    tv = tab
                    jin = np.empty(max(cnt, 1), dtype=np.int64)
                    jv = jin
            I.arrays.append(tab)
            I.lo.append(lo)
            I.hi.append(hi)
            I.jin.append(jin)
            I.nentries[d] = cnt
            I.ntasks *= cnt
            I.dims[d].cstart = &tv[0, 0]
            I.dims[d].cstep = &tv[1, 0]
            I.dims[d].count = &tv[2, 0]
            I.dims[d].aoff = &tv[3, 0]
            I.strides[d] = st
        return I

    cdef void _inner_list_dim(self, _Tables T, _Tables I, int d) except *:
        """The inner-chunk entries of an index-list dim: each shard-level entry's indices
        grouped by inner chunk (stably, so duplicates keep their order), chunk-local."""
        cdef int64_t c = self.chunk_shape[d]
        cdef Py_ssize_t n = T.nentries[d], e, cnt = 0, a, m
        ci, oi, ioff = T.lists[d]
        counts = T.arrays[d][2]
        lo = np.empty(n, dtype=np.int64)
        hi = np.empty(n, dtype=np.int64)
        new_ci, new_oi, sizes, jins, full = [], [], [], [], []
        for e in range(n):
            a = ioff[e]
            m = counts[e]
            cie = ci[a:a + m]
            oie = oi[a:a + m]
            j = cie // c
            order = np.argsort(j, kind="stable")
            js = j[order]
            cuts = (np.flatnonzero(js[1:] != js[:m - 1]) + 1).tolist()
            lo[e] = cnt
            for s0, s1 in zip([0] + cuts, cuts + [m]):
                sel = order[s0:s1]
                jj = int(js[s0])
                local = cie[sel] - jj * c
                new_ci.append(local)
                new_oi.append(oie[sel])
                full.append(1 if np.unique(local).shape[0] == c else 0)
                sizes.append(s1 - s0)
                jins.append(jj)
                cnt += 1
            hi[e] = cnt
        tab = np.zeros((4, max(cnt, 1)), dtype=np.int64)
        tab[2, :cnt] = sizes
        ioff2 = np.zeros(max(cnt, 1), dtype=np.int64)
        if cnt > 1:
            np.cumsum(tab[2, :cnt - 1], out=ioff2[1:cnt])
        ci_all = np.ascontiguousarray(np.concatenate(new_ci) if new_ci else np.zeros(1), dtype=np.int64)
        oi_all = np.ascontiguousarray(np.concatenate(new_oi) if new_oi else np.zeros(1), dtype=np.int64)
        jin = np.asarray(jins if jins else [0], dtype=np.int64)
        full_arr = np.asarray(full if full else [0], dtype=np.uint8)
        cdef const uint8_t[::1] fv = full_arr
        cdef int64_t[:, ::1] tv = tab
        cdef int64_t[::1] cv = ci_all
        cdef int64_t[::1] ov = oi_all
        cdef int64_t[::1] iv = ioff2
        I.arrays.append(tab)
        I.lists[d] = (ci_all, oi_all, ioff2, full_arr)
        I.full[d] = &fv[0]
        I.lo.append(lo)
        I.hi.append(hi)
        I.jin.append(jin)
        I.nentries[d] = cnt
        I.ntasks *= cnt
        I.dims[d].cstart = &tv[0, 0]
        I.dims[d].cstep = &tv[1, 0]
        I.dims[d].count = &tv[2, 0]
        I.dims[d].aoff = &tv[3, 0]
        I.dims[d].cidx = &cv[0]
        I.dims[d].oidx = &ov[0]
        I.dims[d].ioff = &iv[0]
        I.strides[d] = T.strides[d]

    cdef list _shards(self, _Tables I):
        """Every touched shard in C order: (key, first task number is implicit) as
        (key, outer entry row, inner tasks)."""
        cdef _Tables T = I.outer
        cdef int nd = self.ndim, d
        cdef Py_ssize_t s, nshards = 1, ntask
        cdef int32_t idx[MAXDIM]
        cdef int64_t[::1] lov, hiv
        out = []
        for d in range(nd):
            nshards *= T.nentries[d]
            idx[d] = 0
        if nshards == 0:
            return out
        for s in range(nshards):
            key = self.prefix + self.zero_key if nd == 0 else None
            row = []
            ntask = 1
            for d in range(nd):
                p = (<list>T.keyparts[d])[idx[d]]
                key = p if key is None else key + p
                row.append(idx[d])
                lov = I.lo[d]
                hiv = I.hi[d]
                ntask *= hiv[idx[d]] - lov[idx[d]]
            out.append((key, row, ntask))
            for d in range(nd - 1, -1, -1):
                idx[d] += 1
                if idx[d] < T.nentries[d]:
                    break
                idx[d] = 0
        return out

    cdef void _shard_tasks(self, _Tables I, list row, int32_t *entries, int64_t *flat):
        """Entry rows and inner flat indices of one shard's tasks, in C order."""
        cdef int nd = self.ndim, d
        cdef int32_t lo[MAXDIM]
        cdef int32_t hi[MAXDIM]
        cdef int32_t idx[MAXDIM]
        cdef int64_t mul[MAXDIM]
        cdef const int64_t *jp[MAXDIM]
        cdef Py_ssize_t t = 0
        cdef int64_t f, acc = 1
        cdef int64_t[::1] jv, lov, hiv
        for d in range(nd - 1, -1, -1):
            lov = I.lo[d]
            hiv = I.hi[d]
            lo[d] = <int32_t>lov[<Py_ssize_t>row[d]]
            hi[d] = <int32_t>hiv[<Py_ssize_t>row[d]]
            idx[d] = lo[d]
            mul[d] = acc
            acc *= self.cps[d]
            jv = I.jin[d]
            jp[d] = &jv[0]  # I.jin[d] is kept alive by I
        if nd == 0:
            flat[0] = 0
            return
        for d in range(nd):
            if lo[d] >= hi[d]:
                return
        while True:
            f = 0
            for d in range(nd):
                entries[t * nd + d] = idx[d]
                f += jp[d][idx[d]] * mul[d]
            flat[t] = f
            t += 1
            d = nd - 1
            while d >= 0:
                idx[d] += 1
                if idx[d] < hi[d]:
                    break
                idx[d] = lo[d]
                d -= 1
            if d < 0:
                return

    cdef int _parse_index(self, const uint8_t *p, size_t n, uint64_t *iv, str key,
                          int64_t total) except -1:
        """Check the shard index bytes p[0:n] (size, crc32c, every present entry inside
        the data region; total < 0: shard size unknown, then only what the index alone
        allows) and decode its 2 * ninner entries into iv."""
        cdef size_t k = <size_t>self.index_nbytes, i, ni = <size_t>self.ninner
        cdef uint64_t off, nb, lo, hi, h
        cdef uint32_t crc, want
        cdef bint has_hi = total >= 0
        if n != k:
            raise DecodeError(
                f"sharding codec: expected exactly {k} bytes of shard index, got {n} "
                f"(shard key {key!r})")
        if self.index_crc:
            crc = zf_crc32c_update(0, p, 16 * ni)
            want = (<uint32_t>p[16 * ni] | (<uint32_t>p[16 * ni + 1] << 8)
                    | (<uint32_t>p[16 * ni + 2] << 16) | (<uint32_t>p[16 * ni + 3] << 24))
            if crc != want:
                raise ChecksumError(
                    f"crc32c: checksum mismatch: stored {want:#010x}, computed {crc:#010x} "
                    f"(shard index; shard key {key!r})")
        lo = k if self.index_start else 0
        hi = 0
        if has_hi:
            if self.index_start:
                hi = <uint64_t>total
            else:
                hi = <uint64_t>(total - <int64_t>k) if total >= <int64_t>k else 0
        for i in range(ni):
            off = _rd64(p + 16 * i, self.index_big)
            nb = _rd64(p + 16 * i + 8, self.index_big)
            iv[2 * i] = off
            iv[2 * i + 1] = nb
            if off == _ABSENT and nb == _ABSENT:
                continue
            if off < lo or off > _ABSENT - nb or (has_hi and (off > hi or nb > hi - off)):
                where = f"[{lo}, {hi})" if has_hi else f"[{lo}, ...)"
                raise DecodeError(
                    f"sharding codec: shard index entry for inner chunk {i} is (offset={off}, "
                    f"nbytes={nb}); expected both {_ABSENT} (absent) or a byte range inside "
                    f"the data region {where} of the shard (shard key {key!r})")
        return 0
