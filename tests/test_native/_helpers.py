"""Helpers shared by the native-engine tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time


def sigkill_when_ready(args: list[str]) -> None:
    """Run ``python -c *args``, wait for it to print ``ready``, then SIGKILL it mid-write."""
    proc = subprocess.Popen(
        [sys.executable, "-c", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.15)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
