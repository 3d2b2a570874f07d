"""Test helpers for fanlog and for plugin authors (the conformance kit grows here)."""

from __future__ import annotations

import threading
from typing import Any


class RecordingLogger:
    """A backend that implements every logger hook and records each call, in order, with
    the thread it ran on: the reference any fan-out test can compare against."""

    def __init__(self, save_dir: str | None = None, name: str | None = None) -> None:
        self.save_dir, self.name = save_dir, name
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.threads: set[str] = set()
        self.finalized: list[Any] = []
        self._lock = threading.Lock()

    def _record(self, hook: str, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append((hook, kwargs))
            self.threads.add(threading.current_thread().name)

    def of(self, hook: str) -> list[dict[str, Any]]:
        """The arguments of every call of ``hook``, in order."""
        return [kw for h, kw in self.calls if h == hook]

    @property
    def metrics(self) -> list[tuple[int, dict[str, float]]]:
        return [(kw["step"], kw["metrics"]) for kw in self.of("log_metrics")]

    @property
    def experiment(self) -> RecordingLogger:
        return self

    def log_hyperparams(self, params):
        self._record("log_hyperparams", params=params)

    def log_metrics(self, metrics, step):
        self._record("log_metrics", metrics=metrics, step=step)

    def log_text(self, key, text, step):
        self._record("log_text", key=key, text=text, step=step)

    def log_image(self, key, image, step, dataformats):
        self._record("log_image", key=key, image=image, step=step, dataformats=dataformats)

    def log_histogram(self, key, values, step, bins):
        self._record("log_histogram", key=key, values=values, step=step, bins=bins)

    def log_audio(self, key, audio, step, sample_rate):
        self._record("log_audio", key=key, audio=audio, step=step, sample_rate=sample_rate)

    def log_figure(self, key, figure, step):
        self._record("log_figure", key=key, figure=figure, step=step)

    def log_graph(self, model, example_input):
        self._record("log_graph", model=model, example_input=example_input)

    def log_artifact(self, path, name, metadata):
        self._record("log_artifact", path=path, name=name, metadata=metadata)

    def watch(self, model, log, log_freq):
        self._record("watch", model=model, log=log, log_freq=log_freq)

    def save(self):
        self._record("save")

    def finalize(self, status):
        self._record("finalize", status=status)
        self.finalized.append(status)

    def state_dict(self):
        self._record("state_dict")
        steps = [kw["step"] for kw in self.of("log_metrics")]
        return {"step": max(steps) if steps else None}

    def load_state_dict(self, state):
        self._record("load_state_dict", state=state)
