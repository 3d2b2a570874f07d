"""Small real backends with a controllable behaviour, for fan-out tests."""

from __future__ import annotations

import threading
import time

from fanlog.testing import RecordingLogger


class Raising(RecordingLogger):
    """Raises on every log_metrics call."""

    def log_metrics(self, metrics, step):
        raise RuntimeError(f"boom at step {step}")


class Gated(RecordingLogger):
    """Blocks every log_metrics call until ``gate`` is set; ``started`` tells when the
    first call arrived."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.gate = threading.Event()
        self.started = threading.Event()

    def log_metrics(self, metrics, step):
        self.started.set()
        self.gate.wait()
        super().log_metrics(metrics, step)


class Sleeping(RecordingLogger):
    """Takes ``delay`` seconds per call, like a slow tracking server."""

    def __init__(self, delay=0.05, **kw):
        super().__init__(**kw)
        self.delay = delay

    def log_metrics(self, metrics, step):
        time.sleep(self.delay)
        super().log_metrics(metrics, step)


class HangingFinalize(RecordingLogger):
    def finalize(self, status):
        threading.Event().wait(30)


class MetricsOnly:
    """Implements one hook only: anything else is unsupported."""

    def __init__(self):
        self.rows = []

    def log_metrics(self, metrics, step):
        self.rows.append((step, metrics))
