"""W1..W7 end to end, zarrfast only (the peers are in ``compare.py``).

Same definitions and data as ``compare.py`` (``workloads.py``); ``small`` scale by
default (also for the ``--benchmark-disable`` smoke run); filesystem stores live in pytest's
tmp_path, W7's S3 objects in the moto server ``cloud.py`` starts (behind its 20 ms proxy).
Reads decode the shared reference objects; every test checks its result once,
outside the timing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import cloud
import numpy as np
import pytest
import workloads as W

_CASES = [
    pytest.param(wl.id, store, op, id=f"{wl.id}-{store}-{op}")
    for wl in W.workloads("tiny")
    for store in wl.stores
    for op in wl.ops
]


class RefDirs:
    """Filesystem copies of the reference arrays, one per layout, written on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dirs: dict[tuple[Any, ...], str] = {}

    def get(self, wl: W.Workload) -> str:
        if wl.layout_key not in self.dirs:
            path = str(self.root / f"{wl.id}-{len(self.dirs)}")
            self.dirs[wl.layout_key] = W.write_reference_dir(W.reference_store(wl), path)
        return self.dirs[wl.layout_key]


@pytest.fixture(scope="session")
def ref_dirs(tmp_path_factory: pytest.TempPathFactory) -> RefDirs:
    return RefDirs(tmp_path_factory.mktemp("ref"))


@pytest.mark.parametrize(("wid", "store", "op"), _CASES)
def test_workload(
    throughput: Any,
    bench_scale: str,
    threads_all: int,
    tmp_path: Path,
    ref_dirs: RefDirs,
    wid: str,
    store: str,
    op: str,
) -> None:
    wl = W.select(wid, bench_scale)[0]
    impl = W.make_impl("zarrfast", threads_all)
    data = W.make_data(wl)
    if op == "write":
        target: Any = str(tmp_path / "w.zarr") if store == "filesystem" else None
        if store == "s3":
            target = cloud.get().loc(f"write/{tmp_path.name}")

        def clear() -> None:
            if store == "s3":
                cloud.get().clear(target)
            elif target:
                shutil.rmtree(target, ignore_errors=True)

        throughput(lambda: impl.write(wl, store, target, data), wl.nbytes, rounds=3, setup=clear)
        back = impl.open(wl, store, target) if target else impl.write(wl, store, None, data)
        np.testing.assert_array_equal(impl.read_all(back), data)
        return
    loc: Any = ref_dirs.get(wl) if store == "filesystem" else W.reference_store(wl)
    if store == "s3":
        loc = cloud.get().upload(loc, f"ref/{wl.id}-{bench_scale}")
    h = impl.open(wl, store, loc)
    if op == "read":
        throughput(lambda: impl.read_all(h), wl.nbytes, rounds=3)
        np.testing.assert_array_equal(impl.read_all(h), data)
    elif op == "boxes":
        boxes = W.random_boxes(wl)
        nbytes = sum(data[b].nbytes for b in boxes)
        throughput(lambda: [impl.read_box(h, b) for b in boxes], nbytes, rounds=3)
        np.testing.assert_array_equal(impl.read_box(h, boxes[0]), data[boxes[0]])
    elif op == "oindex_set":
        sels = W.random_oindex(wl)
        vals = [W.oindex_values(wl, s, k) for k, s in enumerate(sels)]
        rw: Any = dict(loc) if store == "memory" else None
        if store == "filesystem":
            rw = str(tmp_path / "rw.zarr")
            shutil.copytree(loc, rw)
        h = impl.open_rw(wl, store, rw)
        nbytes = sum(v.nbytes for v in vals)
        throughput(
            lambda: [impl.write_oindex(h, s, v) for s, v in zip(sels, vals)], nbytes, rounds=3
        )
        want = data.copy()
        for s, v in zip(sels, vals):
            want[np.ix_(*s)] = v
        np.testing.assert_array_equal(impl.read_all(h), want)
    elif op == "oindex":
        sels = W.random_oindex(wl)
        nbytes = sum(data[np.ix_(*s)].nbytes for s in sels)
        throughput(lambda: [impl.read_oindex(h, s) for s in sels], nbytes, rounds=3)
        np.testing.assert_array_equal(impl.read_oindex(h, sels[0]), data[np.ix_(*sels[0])])
    elif op == "vindex":
        coords = W.random_vindex(wl)
        throughput(lambda: impl.read_vindex(h, coords), len(coords[0]) * data.itemsize, rounds=3)
        np.testing.assert_array_equal(impl.read_vindex(h, coords), data[coords])
    else:
        points = W.random_points(wl)
        throughput(
            lambda: [impl.read_point(h, p) for p in points], len(points) * data.itemsize, rounds=3
        )
        assert impl.read_point(h, points[0]) == data[points[0]]
