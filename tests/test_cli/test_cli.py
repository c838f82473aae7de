"""The zarrfast command line: info, tree, copy, verify, bench; exit codes; --help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def src(tmp_path: Path) -> str:
    path = str(tmp_path / "src.zarr")
    a = zf.create(
        shape=(50, 40),
        chunks=(10, 10),
        dtype="f4",
        path=path,
        zarr_format=2,
        compressor="zlib",
        attributes={"units": "K"},
    )
    a[...] = np.arange(2000, dtype="f4").reshape(50, 40)
    return path


@pytest.mark.parametrize("cmd", [[], ["bench"], ["info"], ["tree"], ["copy"], ["verify"]])
def test_help(cmd: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*cmd, "--help"])
    assert exc.value.code == 0
    assert "usage: zarrfast" in capsys.readouterr().out


def test_info_and_tree(src: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", src]) == 0
    out = capsys.readouterr().out
    for field in (
        "Zarr format        : 2",
        "(50, 40)",
        "(10, 10)",
        "zlib",
        "Compression ratio",
        "Chunks initialized : 20/20",
    ):
        assert field in out
    g = zf.group(path=str(tmp_path / "g.zarr"))
    g.create_group("sub").create_array("x", shape=(5,), chunks=(2,), dtype="i4")
    assert main(["tree", str(tmp_path / "g.zarr")]) == 0
    assert capsys.readouterr().out.splitlines() == ["/", "└── sub/", "    └── x (5,) int32"]


def test_copy_converts_rechunks_and_reencodes(src: str, tmp_path: Path) -> None:
    dst = str(tmp_path / "dst.zarr")
    assert (
        main(
            [
                "copy",
                src,
                dst,
                "--zarr-format",
                "3",
                "--chunks",
                "8,8",
                "--codec",
                "zstd",
                "--max-memory",
                "64K",
                "-q",
            ]
        )
        == 0
    )
    out = zf.open_array(dst, mode="r")
    assert out.zarr_format == 3 and out.chunks == (8, 8)
    assert "zstd" in repr(out.codecs).lower()
    np.testing.assert_array_equal(out[...], zf.open_array(src, mode="r")[...])
    assert out.attrs["units"] == "K"
    assert main(["verify", dst, "-q"]) == 0


def test_copy_to_shards(src: str, tmp_path: Path) -> None:
    dst = str(tmp_path / "sh.zarr")
    assert (
        main(["copy", src, dst, "--zarr-format", "3", "--chunks", "8,8", "--shards", "16,16", "-q"])
        == 0
    )
    np.testing.assert_array_equal(
        zf.open_array(dst, mode="r")[...], zf.open_array(src, mode="r")[...]
    )


def test_copy_resume(src: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zarrfast.cli import commands

    dst = str(tmp_path / "r.zarr")
    calls = {"n": 0}
    # five blocks of 10 x 40
    monkeypatch.setattr(commands, "copy_block_shape", lambda *a: (10, 40))
    orig_set = zf.Array.__setitem__

    def flaky(self, sel, value):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        orig_set(self, sel, value)

    monkeypatch.setattr(zf.Array, "__setitem__", flaky)
    assert main(["copy", src, dst, "-q"]) == 130
    with open(os.path.join(dst, commands.PROGRESS_KEY), "rb") as f:
        assert len(f.read()) < 100  # one coordinate, not the list of done blocks
    calls["n"] = 0
    monkeypatch.setattr(
        zf.Array,
        "__setitem__",
        lambda self, sel, value: (
            calls.__setitem__("n", calls["n"] + 1),
            orig_set(self, sel, value),
        ),
    )
    assert main(["copy", src, dst, "--resume", "-q"]) == 0
    assert calls["n"] == 3  # blocks 0 and 1 were done: only 2, 3, 4 are copied again
    np.testing.assert_array_equal(
        zf.open_array(dst, mode="r")[...], zf.open_array(src, mode="r")[...]
    )
    assert not os.path.exists(os.path.join(dst, commands.PROGRESS_KEY))


def test_copy_resume_reads_the_earlier_marker_format(
    src: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from zarrfast.cli import commands

    dst = str(tmp_path / "old.zarr")
    monkeypatch.setattr(commands, "copy_block_shape", lambda *a: (10, 40))
    s = zf.open_array(src, mode="r")
    d = zf.create(shape=s.shape, chunks=s.chunks, dtype=s.dtype, path=dst, zarr_format=2)
    d[0:10] = s[0:10]
    d[30:40] = s[30:40]
    with open(os.path.join(dst, commands.PROGRESS_KEY), "w") as f:
        json.dump({"done": [0, 3], "block": [10, 40]}, f)
    seen: list[int] = []
    orig_set = zf.Array.__setitem__

    def record(self, sel, value):  # type: ignore[no-untyped-def]
        seen.append(sel[0].start)
        orig_set(self, sel, value)

    monkeypatch.setattr(zf.Array, "__setitem__", record)
    assert main(["copy", src, dst, "--resume", "-q"]) == 0
    assert seen == [10, 20, 40]
    np.testing.assert_array_equal(zf.open_array(dst, mode="r")[...], s[...])


def test_copy_of_a_sparse_huge_array_is_bounded_by_what_is_stored(tmp_path: Path) -> None:
    # 10**12 chunks of which three are stored: the copy touches three blocks
    src = str(tmp_path / "huge.zarr")
    a = zf.create(shape=(10**6, 10**6), chunks=(1, 1), dtype="i2", path=src, fill_value=-1)
    a[0, 0] = 1
    a[5, 999_999] = 2
    a[999_999, 123] = 3
    dst = str(tmp_path / "huge-copy.zarr")
    assert main(["copy", src, dst, "-q"]) == 0
    b = zf.open_array(dst, mode="r")
    assert b.nchunks_initialized == 3
    assert (b[0, 0], b[5, 999_999], b[999_999, 123], b[7, 7]) == (1, 2, 3, -1)


def test_copy_onto_a_reused_destination_overwrites_its_stale_chunks(
    src: str, tmp_path: Path
) -> None:
    dst = str(tmp_path / "stale.zarr")
    assert main(["copy", src, dst, "-q"]) == 0
    s = zf.open_array(src, mode="r+")
    s[0:10, 0:10] = 0  # back to fill: the source chunk goes away (or is all fill)
    for key in ("0.0",):
        p = os.path.join(src, key)
        if os.path.exists(p):
            os.remove(p)
    assert main(["copy", src, dst, "--resume", "-q"]) == 0
    np.testing.assert_array_equal(zf.open_array(dst, mode="r")[...], s[...])


def test_verify_reports_corrupt_chunk(src: str, capsys: pytest.CaptureFixture[str]) -> None:
    with open(os.path.join(src, "1.2"), "wb") as f:
        f.write(b"not zlib at all")
    assert main(["verify", src, "-q"]) == 1
    out = capsys.readouterr().out
    assert "CORRUPT 1.2" in out and "1 corrupt" in out


def test_errors_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path / "missing.zarr")]) == 1
    assert "zarrfast: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["copy", "a", "b", "--zarr-format", "4"])
    assert exc.value.code == 2


def test_bench_console(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "zarrfast",
            "bench",
            "--size-mb",
            "1",
            "--chunk",
            "16",
            "--repeat",
            "1",
            "--path",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "data verified" in res.stdout
    assert "store lmdb" in res.stdout or "store filesystem" in res.stdout
