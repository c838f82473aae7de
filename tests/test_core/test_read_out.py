"""Reading into a caller's array (``out=``) on every selection method."""

from __future__ import annotations

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.errors import ShapeMismatchError
from zarrfast.storage.memory import MemoryStore


@pytest.fixture(params=[None, "zstd"])
def arr(request: pytest.FixtureRequest) -> tuple[zf.Array, np.ndarray]:
    data = np.arange(20 * 30, dtype="int32").reshape(20, 30)
    a = zf.create(
        shape=data.shape,
        chunks=(7, 8),
        dtype="int32",
        store=MemoryStore(),
        compressor=request.param,
        fill_value=-1,
    )
    a[...] = data
    return a, data


def test_basic_and_slice_into_out(arr: tuple[zf.Array, np.ndarray]) -> None:
    a, data = arr
    out = np.zeros((20, 30), dtype="int32")
    got = a.get_basic_selection(..., out=out)
    assert got is out
    np.testing.assert_array_equal(out, data)
    box = np.full((5, 9), 7, dtype="int32")
    assert a.get_slice(start=(3, 4), stop=(8, 13), out=box) is box
    np.testing.assert_array_equal(box, data[3:8, 4:13])


def test_strided_out_is_written_through(arr: tuple[zf.Array, np.ndarray]) -> None:
    a, data = arr
    big = np.zeros((40, 60), dtype="int32")
    view = big[::2, 1::2]  # non-contiguous
    a.get_basic_selection(..., out=view)
    np.testing.assert_array_equal(big[::2, 1::2], data)
    assert not big[1::2].any()  # nothing written outside the view
    rev = np.zeros((40, 90), dtype="int32")
    rview = rev[::-2, ::-3]  # negative strides
    a.get_basic_selection(..., out=rview)
    np.testing.assert_array_equal(rview, data)
    fview = np.asfortranarray(np.zeros((20, 30), dtype="int32"))
    a.get_basic_selection(..., out=fview)
    np.testing.assert_array_equal(fview, data)


def test_other_modes_into_out(arr: tuple[zf.Array, np.ndarray]) -> None:
    a, data = arr
    rows, cols = [1, 5, 19], [0, 29]
    out = np.empty((3, 2), dtype="int32")
    assert a.get_orthogonal_selection((rows, cols), out=out) is out
    np.testing.assert_array_equal(out, data[np.ix_(rows, cols)])
    pts = (np.array([0, 3, 19]), np.array([1, 2, 29]))
    flat = np.empty(6, dtype="int32")[::2]  # non-contiguous flat output
    a.get_coordinate_selection(pts, out=flat)
    np.testing.assert_array_equal(flat, data[pts])
    mask = data % 7 == 0
    mout = np.empty(int(mask.sum()), dtype="int32")
    a.get_mask_selection(mask, out=mout)
    np.testing.assert_array_equal(mout, data[mask])
    bout = np.empty((7, 8), dtype="int32")
    a.get_block_selection((1, 2), out=bout)
    np.testing.assert_array_equal(bout, data[7:14, 16:24])


def test_scalar_selection_into_0d_out(arr: tuple[zf.Array, np.ndarray]) -> None:
    a, data = arr
    out = np.empty((), dtype="int32")
    assert a.get_basic_selection((4, 5), out=out) is out
    assert out[()] == data[4, 5]


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        (np.empty((20, 29), dtype="int32"), ShapeMismatchError, ["(20, 30)", "(20, 29)"]),
        (np.empty((20, 30), dtype="int64"), ShapeMismatchError, ["int32", "int64"]),
        ([[0] * 30] * 20, TypeError, ["numpy.ndarray", "list"]),
    ],
)
def test_bad_out_is_refused(
    arr: tuple[zf.Array, np.ndarray], bad: object, exc: type, words: list[str]
) -> None:
    a, _ = arr
    with pytest.raises(exc) as info:
        a.get_basic_selection(..., out=bad)  # type: ignore[arg-type]
    for w in words:
        assert w in str(info.value)


def test_read_only_out_is_refused(arr: tuple[zf.Array, np.ndarray]) -> None:
    a, _ = arr
    out = np.empty((20, 30), dtype="int32")
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        a.get_basic_selection(..., out=out)
