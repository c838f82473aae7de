"""Side-by-side comparison: zarrfast vs tensorstore, zarr-python (default, tuned) and zarrs.

Runs the workloads of ``bench/workloads.py`` for every implementation in one process,
interleaved (for each repetition, every implementation in turn), and prints per workload
the median time, GB/s, per-chunk (or per-operation) cost and the ratio of each time to
the best peer's, plus a ceiling row for reads (raw codec decode / memcpy at full thread
count) and zarrfast's peak memory for a full read.  Saves
``bench/results/compare-<timestamp>.json`` and ``.png``.

    python bench/compare.py --scale small --repeat 3
    python bench/compare.py --workloads W1,W4 --scale full --store both --repeat 3

Exit status: 0, unless an implementation returned wrong data (1).  An implementation that
fails on a workload is reported as ``error: ...`` and the run goes on.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any

import cloud
import numpy as np
import workloads as W

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
MiB = 1024 * 1024

#: Targets from issue #3.
TARGET_RATIO = 0.8
TARGET_CEILING = 0.85
TARGET_US_PER_CHUNK = 2.0
TARGET_PEAK_EXTRA = 64 * MiB


class VerificationError(AssertionError):
    pass


# --------------------------------------------------------------------------- timing
class Meter:
    """Where the time of one timed S3 operation goes (W7): the latency proxy's counters
    (requests, most in flight, body bytes each way) and this process's CPU time, all
    threads (the client's own work: SDK, signing, HTTP, decode)."""

    def __init__(self, cl: Any) -> None:
        self.cloud = cl
        self.last: dict[str, Any] = {}

    def start(self) -> None:
        self.cloud.stats(reset=True)
        self._cpu = time.process_time()

    def stop(self, seconds: float) -> None:
        cpu = time.process_time() - self._cpu
        st = self.cloud.stats()
        st["cpu_s"] = cpu
        st["seconds"] = seconds
        self.last = st


def _timed(fn: Any, meter: Meter | None = None) -> tuple[float, Any]:
    gc.collect()
    if meter is not None:
        meter.start()
    t0 = time.perf_counter()
    out = fn()
    t = time.perf_counter() - t0
    if meter is not None:
        meter.stop(t)
    return t, out


def describe_meter(st: dict[str, Any]) -> str:
    """``'138 req, <=32 in flight, 91 MB/s, 2.1 ms CPU/req'`` for a W7 row."""
    n = max(1, st["requests"])
    mbps = (st["bytes_up"] + st["bytes_down"]) / st["seconds"] / 1e6
    return (
        f"{st['requests']} req, <={st['max_inflight']} in flight, {mbps:.0f} MB/s, "
        f"{st['cpu_s'] / n * 1e3:.2f} ms CPU/req"
    )


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise VerificationError(what)


def run_op(
    impl: W.Impl,
    wl: W.Workload,
    store: str,
    op: str,
    loc: Any,
    data: np.ndarray,
    verify: bool,
    workdir: str,
    meter: Meter | None = None,
) -> float:
    """One timed run of ``op``; verification (when asked) happens outside the timing."""
    if op == "write":
        target: Any = None
        if store == "filesystem":
            target = os.path.join(workdir, "write", impl.name, wl.id)
            shutil.rmtree(target, ignore_errors=True)
        elif store == "s3":
            target = cloud.get().loc(f"write/{impl.name}/{wl.id}")
            cloud.get().clear(target)
        t, h = _timed(lambda: impl.write(wl, store, target, data), meter)
        if verify:
            # read back what this implementation wrote, with itself
            back = impl.read_all(impl.open(wl, store, target) if target else h)
            _check(np.array_equal(back, data), f"{impl.name} wrote different data")
        del h
        return t
    h = impl.open(wl, store, loc)
    if op == "read":
        t, out = _timed(lambda: impl.read_all(h), meter)
        if verify:
            same = out.shape == data.shape and out.dtype == data.dtype
            _check(same and np.array_equal(out, data), f"{impl.name} read different data")
        return t
    if op == "boxes":
        boxes = W.random_boxes(wl)
        t, _ = _timed(lambda: [impl.read_box(h, b) for b in boxes], meter)
        if verify:
            for b in boxes[:20]:
                _check(np.array_equal(impl.read_box(h, b), data[b]), f"{impl.name} box {b} differs")
        return t
    if op == "oindex":
        sels = W.random_oindex(wl)
        t, _ = _timed(lambda: [impl.read_oindex(h, s) for s in sels], meter)
        if verify:
            for s in sels[:10]:
                _check(
                    np.array_equal(impl.read_oindex(h, s), data[np.ix_(*s)]),
                    f"{impl.name} oindex selection differs",
                )
        return t
    if op == "oindex_set":
        sels = W.random_oindex(wl)
        vals = [W.oindex_values(wl, s, k) for k, s in enumerate(sels)]
        if store == "filesystem":
            rw: Any = os.path.join(workdir, "rw", impl.name, wl.id)
            shutil.rmtree(rw, ignore_errors=True)
            shutil.copytree(loc, rw)
        elif store == "memory":
            rw = dict(loc)
        else:
            raise ValueError("oindex_set runs on filesystem and memory stores")
        h = impl.open_rw(wl, store, rw)
        t, _ = _timed(lambda: [impl.write_oindex(h, s, v) for s, v in zip(sels, vals)], meter)
        if verify:
            want = data.copy()
            for s, v in zip(sels, vals):
                want[np.ix_(*s)] = v
            _check(np.array_equal(impl.read_all(h), want), f"{impl.name} oindex writes differ")
        return t
    if op == "vindex":
        coords = W.random_vindex(wl)
        t, _ = _timed(lambda: impl.read_vindex(h, coords), meter)
        if verify:
            _check(
                np.array_equal(impl.read_vindex(h, coords), data[coords]),
                f"{impl.name} vindex points differ",
            )
        return t
    if op == "points":
        points = W.random_points(wl)
        t, _ = _timed(lambda: [impl.read_point(h, p) for p in points], meter)
        if verify:
            for p in points:
                got = np.asarray(impl.read_point(h, p))
                _check(got.shape == () and got == data[p], f"{impl.name} point {p} differs")
        return t
    raise ValueError(f"unknown op {op!r}")


#: Informational row: zarrfast reading into a reused, already-faulted ``out=`` array.  A
#: read into a fresh array pays the kernel's zeroing of every new page (about 1/4 of a W1
#: read here); the ceiling row decodes into a pre-faulted buffer, so this row is the
#: like-for-like comparison with it.  Not a peer and not the zarrfast row of the targets.
REUSED = "zarrfast-out"


#: Informational row: zarrfast with the opt-in output arena (``output_arena_bytes``):
#: a fresh result each read, carved from the freed previous one's already mapped memory.
ARENA = "zarrfast-arena"


def _timed_reused(impl: W.Impl, h: Any, wl: W.Workload, r: dict[str, Any]) -> tuple[float, Any]:
    buf = r.get("_buf")
    if buf is None:
        from zarrfast.core.pipeline import aligned_empty

        buf = r["_buf"] = aligned_empty(wl.shape, wl.dtype)
        buf.fill(0)  # fault every page in now, outside the timing
    with impl.active():
        h.get_basic_selection(..., out=buf)  # warm, as the other reads
        t, _ = _timed(lambda: h.get_basic_selection(..., out=buf))
    return t, buf


def _timed_arena(impl: W.Impl, h: Any, wl: W.Workload, r: dict[str, Any]) -> tuple[float, Any]:
    import zarrfast as zf
    from zarrfast.core.pipeline import release_output_arena

    try:
        with zf.set_config(output_arena_bytes=2 * wl.nbytes + (4 << 20)):
            impl.read_all(h)  # warm: leaves a parked block
            return _timed(lambda: impl.read_all(h))  # type: ignore[no-any-return]
    finally:
        release_output_arena()


def _informational_read(
    row: str,
    impl: W.Impl,
    wl: W.Workload,
    store: str,
    loc: Any,
    data: np.ndarray,
    rows: dict[str, dict[str, Any]],
    verify: bool,
) -> None:
    """One timed zarrfast read for the REUSED or ARENA row (errors stay in the row)."""
    r = rows.setdefault(row, {"times": []})
    if r.get("error"):
        return
    try:
        h = impl.open(wl, store, loc)
        t, out = (_timed_reused if row == REUSED else _timed_arena)(impl, h, wl, r)
        if verify:
            _check(np.array_equal(out, data), f"{row} read different data")
        del out
        r["times"].append(t)
    except VerificationError as exc:
        r["error"] = f"VERIFICATION FAILED: {exc}"
    except Exception as exc:
        r["error"] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"


def op_units(wl: W.Workload, op: str) -> tuple[int, int, str]:
    """(bytes moved, operations, unit name) for throughput and per-unit cost."""
    itemsize = np.dtype(wl.dtype).itemsize
    if op == "boxes":
        return wl.nbox * wl.box ** len(wl.shape) * itemsize, wl.nbox, "op"
    if op == "points":
        return wl.npoint * itemsize, wl.npoint, "op"
    if op in ("oindex", "oindex_set"):
        return wl.nosel * wl.nper ** len(wl.shape) * itemsize, wl.nosel, "op"
    if op == "vindex":
        return wl.nvpoint * itemsize, wl.nvpoint, "point"
    return wl.nbytes, wl.nchunks, "chunk"


# --------------------------------------------------------------------------- peak memory
_CHILD = r"""
import json, sys
sys.path.insert(0, {here!r})
import workloads as W
wl = [w for w in W.workloads({scale!r}) if w.id == {wid!r}][0]
impl = W.make_impl({impl!r}, {threads!r})
h = impl.open(wl, "filesystem", {loc!r})
impl.read_box(h, tuple(slice(0, 1) for _ in wl.shape))  # lazy imports, pools: not the read's


def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise OSError(field + " not in /proc/self/status")


try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
except OSError:
    pass
rss_before = status("VmRSS")
out = impl.read_all(h)
print(json.dumps({{"rss_before": rss_before, "peak": status("VmHWM"), "nbytes": int(out.nbytes)}}))
"""


def peak_memory(impl: str, wl: W.Workload, loc: str, threads: int) -> dict[str, Any]:
    """Peak RSS growth of a full filesystem read, measured in a fresh child process.

    Uses the child's own high-water mark (``VmHWM``, reset just before the read), not
    ``ru_maxrss``: Linux carries the parent's RSS into ``ru_maxrss`` across fork + exec.
    """
    code = _CHILD.format(here=HERE, scale=wl.scale, wid=wl.id, impl=impl, threads=threads, loc=loc)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False
        )
        if proc.returncode != 0:
            return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
        res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, OSError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    res["extra"] = res["peak"] - res["rss_before"]
    return res


# --------------------------------------------------------------------------- report
def _fmt_t(t: float) -> str:
    return f"{t * 1e3:9.1f} ms" if t < 10 else f"{t:9.2f} s "


def _fmt_cost(us: float) -> str:
    return f"{us:10.1f}" if us < 1e5 else f"{us:10.3g}"


def print_table(block: dict[str, Any], impls: list[str]) -> None:
    wl_line = f"{block['workload']} [{block['store']}] {block['title']}: {block['describe']}"
    print(
        f"\n{wl_line}\n  N = {block['nbytes'] / MiB:.1f} MiB, "
        f"stored {block['stored'] / MiB:.1f} MiB ({block['nchunks']} chunks), "
        f"threads {block['threads']}, repeat {block['repeat']}"
    )
    print(
        f"  {'op':<11}{'impl':<13}{'median':>12}{'GB/s':>8}{'us/unit':>11}  "
        f"{'x best peer':>11}  note"
    )
    for op, rows in block["ops"].items():
        for name in [*impls, REUSED, ARENA, "ceiling"]:
            r = rows.get(name)
            if r is None:
                continue
            if r.get("error"):
                print(f"  {op:<11}{name:<13}{'error: ' + r['error']}")
                continue
            ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "-"
            note = r.get("note", "")
            print(
                f"  {op:<11}{name:<13}{_fmt_t(r['median'])}{r['gbps']:8.2f}"
                f"{_fmt_cost(r['us_per_unit'])}  {ratio:>11}  {note}"
            )
    pm = block.get("peak_memory")
    if pm:
        if pm.get("error"):
            print(f"  peak memory (zarrfast full read): error: {pm['error']}")
        else:
            ok = pm["extra"] <= block["nbytes"] + TARGET_PEAK_EXTRA
            print(
                f"  peak memory (zarrfast full read, child RSS growth): "
                f"{pm['extra'] / MiB:.1f} MiB for N = {block['nbytes'] / MiB:.1f} MiB "
                f"(target <= N + 64 MiB: "
                f"{'ok' if ok else 'MISS'})"
            )


def summarize(block: dict[str, Any]) -> None:
    """Fill medians, GB/s, ratios to the best peer, ceiling share and target notes."""
    for op, rows in block["ops"].items():
        bytes_, units, _ = block["units"][op]
        for r in rows.values():
            if r.get("times"):
                r["median"] = statistics.median(r["times"])
                r["gbps"] = bytes_ / r["median"] / 1e9
                r["us_per_unit"] = r["median"] / units * 1e6
        peers = [
            r["median"]
            for n, r in rows.items()
            if n not in ("zarrfast", REUSED, ARENA, "ceiling") and r.get("median")
        ]
        best = min(peers) if peers else None
        for n, r in rows.items():
            if r.get("median") and best and n != "ceiling":
                r["ratio"] = r["median"] / best
        zf = rows.get("zarrfast", {})
        if zf.get("median"):
            notes = []
            if zf.get("ratio") is not None:
                verdict = "ok" if zf["ratio"] <= TARGET_RATIO else "MISS"
                notes.append(f"target <= {TARGET_RATIO}: {verdict}")
            ceil = rows.get("ceiling", {})
            if ceil.get("median"):
                share = ceil["median"] / zf["median"]
                zf["ceiling_share"] = share
                notes.append(
                    f"{share:.0%} of ceiling ({'ok' if share >= TARGET_CEILING else 'MISS'} >= 85%)"
                )
            if block["workload"].startswith("W4"):
                us = zf["us_per_unit"]
                verdict = "ok" if us <= TARGET_US_PER_CHUNK else "MISS"
                notes.append(f"{us:.2f} us/chunk ({verdict} <= 2)")
            if zf.get("note"):  # W7: where the time went
                notes.append(zf["note"])
            zf["note"] = "; ".join(notes)
        reused, ceil = rows.get(REUSED, {}), rows.get("ceiling", {})
        if reused.get("median") and ceil.get("median"):
            reused["note"] = (
                f"read into a reused out= array: {ceil['median'] / reused['median']:.0%} of ceiling"
            )
        arena = rows.get(ARENA, {})
        if arena.get("median") and ceil.get("median"):
            share = ceil["median"] / arena["median"]
            arena["note"] = (
                f"fresh result from the opt-in output arena: {share:.0%} of ceiling "
                f"({'ok' if share >= TARGET_CEILING else 'MISS'} >= 85%)"
            )
        ceil = rows.get("ceiling")
        if ceil and ceil.get("median"):
            ceil["note"] = "raw codec decode" if block["codec"] != "none" else "memcpy (np.copyto)"


def save_plot(blocks: list[dict[str, Any]], impls: list[str], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (no plot: matplotlib is not installed; pip install 'zarrfast[bench]')")
        return None
    labels: list[str] = []
    series: dict[str, list[float]] = {n: [] for n in impls}
    for b in blocks:
        for op, rows in b["ops"].items():
            labels.append(f"{b['workload']} {op}\n{b['store'][:3]}")
            for n in impls:
                series[n].append(rows.get(n, {}).get("ratio") or np.nan)
    if not labels:
        return None
    fig, ax = plt.subplots(figsize=(max(8.0, 0.9 * len(labels) + 2), 5))
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(impls))
    for i, n in enumerate(impls):
        ax.bar(x + (i - (len(impls) - 1) / 2) * width, series[n], width, label=n)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.axhline(TARGET_RATIO, color="red", lw=0.8, ls="--", label=f"target {TARGET_RATIO}")
    ax.set_yscale("log")
    ax.set_ylabel("time / best peer's time (lower is better)")
    ax.set_xticks(x, labels, fontsize=7)
    ax.legend(fontsize=8)
    ax.set_title(f"zarrfast vs peers (scale {blocks[0]['scale']}, {blocks[0]['threads']} threads)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- main
def run_workload(
    wl: W.Workload,
    store: str,
    impls: list[W.Impl],
    args: argparse.Namespace,
    workdir: str,
    failures: list[str],
) -> dict[str, Any]:
    data = W.make_data(wl)
    ref = W.reference_store(wl)
    key = "-".join(map(str, wl.layout_key)).replace(" ", "").replace("(", "").replace(")", "")
    key = key.replace(",", "_")
    ref_dir = os.path.join(workdir, "ref", key)
    if store == "filesystem" and not os.path.isdir(ref_dir):
        W.write_reference_dir(ref, ref_dir)
    loc: Any = ref_dir if store == "filesystem" else ref
    meter = None
    if store == "s3":
        loc = cloud.get().upload(ref, f"ref/{key}")
        meter = Meter(cloud.get())
    impls = [i for i in impls if store in i.stores]
    block: dict[str, Any] = {
        "workload": wl.id,
        "title": wl.title,
        "describe": wl.describe(),
        "store": store,
        "codec": wl.codec,
        "nbytes": wl.nbytes,
        "nchunks": wl.nchunks,
        "scale": wl.scale,
        "stored": sum(len(v) for v in ref.values()),
        "threads": args.threads,
        "repeat": args.repeat,
        "ops": {},
        "units": {},
    }
    for op in wl.ops:
        block["units"][op] = op_units(wl, op)
        rows: dict[str, dict[str, Any]] = {i.name: {"times": []} for i in impls}
        for rep in range(args.repeat):
            for impl in impls:
                r = rows[impl.name]
                if r.get("error"):
                    continue
                try:
                    if op == "read" and args.warm_reads:
                        # untimed: the same read just before, so every implementation is
                        # timed in the same steady state (its previous output just freed,
                        # the kernel's huge pages ready) rather than after another
                        # implementation churned memory
                        for _ in range(args.warm_reads):
                            impl.read_all(impl.open(wl, store, loc))
                    r["times"].append(
                        run_op(impl, wl, store, op, loc, data, rep == 0, workdir, meter)
                    )
                    if meter is not None:
                        # the last repetition's (rep 0 also verifies, outside the timing)
                        r["note"] = describe_meter(meter.last)
                        r["meter"] = meter.last
                    if op == "read" and impl.name == "zarrfast" and store != "s3":
                        for row in (REUSED, ARENA):
                            _informational_read(row, impl, wl, store, loc, data, rows, rep == 0)
                except VerificationError as exc:
                    r["error"] = f"VERIFICATION FAILED: {exc}"
                    failures.append(f"{wl.id} {store} {op} {impl.name}: {exc}")
                except Exception as exc:
                    first = (str(exc).splitlines() or [""])[0][:160]
                    r["error"] = f"{type(exc).__name__}: {first}"
                    if args.verbose:
                        traceback.print_exc()
        rows.get(REUSED, {}).pop("_buf", None)  # the buffer is not a result
        if op == "read" and store != "s3":
            times = [W.ceiling_read(wl, ref, args.threads) for _ in range(args.repeat)]
            rows["ceiling"] = {"times": times}
        block["ops"][op] = rows
    if store == "filesystem" and "read" in wl.ops and args.peak_mem != "none":
        block["peak_memory"] = peak_memory("zarrfast", wl, ref_dir, args.threads)
    summarize(block)
    return block


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--workloads", default="", help="ids or prefixes, e.g. W1,W3 (default all)")
    ap.add_argument("--impls", default=",".join(W.IMPLS), help=f"default {','.join(W.IMPLS)}")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--warm-reads",
        type=int,
        default=1,
        help="untimed full reads by the same implementation right before each "
        "timed one (default 1; 0: the old cold interleaving)",
    )
    ap.add_argument(
        "--scale", default=None, choices=sorted(W.SCALES), help=f"default ${W.SCALE_ENV} or small"
    )
    ap.add_argument(
        "--store",
        default="all",
        choices=["filesystem", "memory", "s3", "both", "all"],
        help="both: filesystem and memory; all (default): also s3 (W7)",
    )
    ap.add_argument("--threads", type=int, default=W.default_threads())
    ap.add_argument(
        "--workdir", default=None, help="filesystem stores go here (default: a temp dir)"
    )
    ap.add_argument(
        "--peak-mem",
        default="zarrfast",
        choices=["zarrfast", "none"],
        help="measure zarrfast's peak RSS of full filesystem reads in a child",
    )
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/*")
    ap.add_argument("-v", "--verbose", action="store_true", help="print tracebacks of errors")
    args = ap.parse_args(argv)
    scale = args.scale or W.current_scale()
    wls = W.select(args.workloads, scale)
    impls = [W.make_impl(n.strip(), args.threads) for n in args.impls.split(",") if n.strip()]
    names = [i.name for i in impls]
    stores = {
        "both": ("filesystem", "memory"),
        "all": ("filesystem", "memory", "s3"),
    }.get(args.store, (args.store,))
    versions = {}
    for i in impls:
        try:
            versions[i.name] = i.versions()
        except Exception as exc:
            versions[i.name] = f"unavailable: {exc}"
    print(
        f"compare: scale {scale}, threads {args.threads}, repeat {args.repeat}, "
        f"impls {', '.join(f'{n} {versions[n]}' for n in names)}"
    )
    print(
        "  times are medians; 'x best peer' = time / fastest non-zarrfast time (< 1: zarrfast "
        "faster); us/unit is per chunk (per box/point for W5)"
    )
    workdir = args.workdir or tempfile.mkdtemp(prefix="zarrfast-compare-")
    failures: list[str] = []
    blocks: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    try:
        for wl in wls:
            for store in stores:
                if store not in wl.stores:
                    continue
                block = run_workload(wl, store, impls, args, workdir, failures)
                blocks.append(block)
                print_table(block, names)
                sys.stdout.flush()
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    if not args.no_save and blocks:
        os.makedirs(RESULTS, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = os.path.join(RESULTS, f"compare-{stamp}")
        meta = {
            "scale": scale,
            "threads": args.threads,
            "repeat": args.repeat,
            "impls": names,
            "versions": versions,
            "python": sys.version.split()[0],
            "machine": platform.platform(),
            "cpus": os.cpu_count(),
            "argv": sys.argv[1:],
            "failures": failures,
        }
        with open(base + ".json", "w") as f:
            json.dump({"meta": meta, "results": blocks}, f, indent=1, default=str)
        png = save_plot(blocks, names, base + ".png")
        print(f"saved {base}.json" + (f" and {png}" if png else ""))
    if failures:
        print("VERIFICATION FAILURES:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
