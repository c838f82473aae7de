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
    real = commands._blocks

    def few_blocks(shape, block):  # type: ignore[no-untyped-def]
        return real(shape, (10, 40))

    monkeypatch.setattr(commands, "_blocks", few_blocks)
    orig_set = zf.Array.__setitem__

    def flaky(self, sel, value):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        orig_set(self, sel, value)

    monkeypatch.setattr(zf.Array, "__setitem__", flaky)
    assert main(["copy", src, dst, "-q"]) == 130
    monkeypatch.setattr(zf.Array, "__setitem__", orig_set)
    assert main(["copy", src, dst, "--resume", "-q"]) == 0
    np.testing.assert_array_equal(
        zf.open_array(dst, mode="r")[...], zf.open_array(src, mode="r")[...]
    )
    assert not os.path.exists(os.path.join(dst, commands.PROGRESS_KEY))


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
