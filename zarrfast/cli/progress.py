"""A one-line progress bar on stderr (chunks, bytes, rate, ETA); silent when not a TTY."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def parse_bytes(text: str) -> int:
    """``"512M"``, ``"2GiB"``, ``"1e9"`` -> bytes."""
    t = text.strip().upper().replace("IB", "").rstrip("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if t and t[-1] in mult:
        return int(float(t[:-1]) * mult[t[-1]])
    return int(float(t))


class Progress:
    def __init__(
        self,
        total_units: int,
        total_bytes: int,
        label: str = "",
        enabled: bool | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total_units, self.total_bytes, self.label = total_units, total_bytes, label
        self.units = 0
        self.bytes = 0
        self.t0 = time.monotonic()
        self._last = 0.0

    def update(self, units: int, nbytes: int) -> None:
        self.units += units
        self.bytes += nbytes
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.units >= self.total_units):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        dt = max(now - self.t0, 1e-9)
        rate = self.bytes / dt
        frac = self.units / self.total_units if self.total_units else 1.0
        eta = (dt / frac - dt) if frac > 0 else 0.0
        width = 24
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        self.stream.write(
            f"\r{self.label} [{bar}] {self.units}/{self.total_units} chunks "
            f"{human_bytes(self.bytes)}/{human_bytes(self.total_bytes)} "
            f"{human_bytes(rate)}/s ETA {eta:5.0f}s "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
