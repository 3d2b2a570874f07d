"""The conformance kit: a base test class a backend's own test suite subclasses.

In the manner of pandas' extension tests and fsspec's abstract tests, a plugin author gives
two fixtures and inherits every check::

    from fanlog.testing import BackendConformance, Readback

    class TestMyBackend(BackendConformance):
        name = "mine"                    # the entry-point name (None: not installed)

        @pytest.fixture
        def make_backend(self, tmp_path):
            return lambda **options: MyBackend(save_dir=str(tmp_path), **options)

        @pytest.fixture
        def read_back(self):
            def read(backend) -> Readback: ...   # read what it wrote, with its own reader
            return read

``make_backend(**options)`` must build a backend writing to the same place each time it is
called in one test (so that a second instance can resume the first one's run), and
``read_back(backend)`` is called after ``finalize`` and returns a :class:`Readback`.
Checks for hooks the backend does not implement are skipped with a printed reason.

The edge-value checks send names and text with ``,`` ``"`` newlines and non-BMP characters
and floats in exponent notation: a store that must rename what it cannot hold says how in
:meth:`BackendConformance.stored_name` (two names must never become one).
"""

from __future__ import annotations

import inspect
import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fanlog.plugins import capabilities_of
from fanlog.status import Status
from fanlog.testing.edges import EdgeValueChecks


@dataclass
class Readback:
    """What a backend stored, as its own reader sees it, in plain terms the kit compares."""

    #: metric name -> [(step, value)] in step order
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    #: flat parameters, nested keys joined with "/" (None: this store keeps no parameters)
    params: dict[str, Any] | None = None
    #: key -> [(step, text)]
    texts: dict[str, list[tuple[int | None, str]]] = field(default_factory=dict)
    #: key -> [(step, (height, width))]
    images: dict[str, list[tuple[int | None, tuple[int, int]]]] = field(default_factory=dict)
    #: key -> [step]
    histograms: dict[str, list[int | None]] = field(default_factory=dict)
    audio: dict[str, list[int | None]] = field(default_factory=dict)
    figures: dict[str, list[int | None]] = field(default_factory=dict)
    #: names of stored artifacts
    artifacts: list[str] = field(default_factory=list)
    #: the final status as stored ("success", "failed", "interrupted"); None if not kept
    status: str | None = None


class HookCaller:
    """Call a backend's hooks with the spec's full arguments, passing each method only the
    arguments it declares, as the fan-out does (a backend may take a subset)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def __getattr__(self, hook: str) -> Any:
        from fanlog.hookspecs import LoggerSpec

        method = getattr(self.backend, hook)
        spec_args = list(inspect.signature(getattr(LoggerSpec, hook)).parameters)[1:]
        params = inspect.signature(method).parameters
        takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
        names = [n for n in spec_args if takes_all or n in params]

        def call(*args: Any, **kwargs: Any) -> Any:
            given = dict(zip(spec_args, args, strict=False)) | kwargs
            return method(**{n: given[n] for n in names})

        return call


def direct(backend: Any) -> HookCaller:
    """``direct(backend).log_metrics(metrics, step)``: call a hook on this thread."""
    return HookCaller(backend)


class BackendConformance(EdgeValueChecks):
    """Inherit to prove a backend honours the fanlog contract. See the module docstring."""

    #: the logger's entry-point name, to check selection by name (None to skip that check)
    name: ClassVar[str | None] = None
    #: relative tolerance for metric values (a float32 store needs about 1e-7)
    rel_tolerance: ClassVar[float] = 0.0
    #: the store keeps parameter values as strings (MLflow): compare str(value)
    params_as_strings: ClassVar[bool] = False
    #: the store keeps every number as a float (TensorBoard's HParams plugin): an int
    #: parameter comes back as the equal float
    params_numbers_as_float: ClassVar[bool] = False
    #: options holding credentials: the kit passes them and checks no file contains them
    secret_options: ClassVar[dict[str, str]] = {}
    #: where the backend writes, relative to the test's tmp_path (searched for secrets)
    output_subdir: ClassVar[str] = "."
    #: the store records the run's final status (Readback.status)
    records_status: ClassVar[bool] = False
    #: two instances of the backend can run side by side in one process
    concurrent_runs: ClassVar[bool] = True

    # -- helpers ---------------------------------------------------------------------------
    def _hooks(self, make_backend: Any) -> tuple[str, ...]:
        return capabilities_of(make_backend())

    def _need(self, make_backend: Any, *hooks: str) -> None:
        implemented = self._hooks(make_backend)
        missing = [h for h in hooks if h not in implemented]
        if missing:
            pytest.skip(f"backend does not implement {', '.join(missing)}")

    def _fan(self, *backends: Any, **kw: Any) -> Any:
        from fanlog.fanout import FanOut

        return FanOut(list(backends), summary=False, **kw)

    def _close(self, got: float, want: float) -> bool:
        if math.isnan(want):
            return math.isnan(got)
        if self.rel_tolerance == 0.0 or math.isinf(want):
            return got == want
        return math.isclose(got, want, rel_tol=self.rel_tolerance)

    def stored_name(self, name: str) -> str:
        """The name the store keeps for ``name`` (override where the store must rename)."""
        return name

    def assert_params(self, read: Readback, expected: dict[str, Any]) -> None:
        assert read.params is not None, "read_back returned no params for a log_hyperparams"
        for key, want in expected.items():
            assert key in read.params, f"parameter {key!r} missing: {sorted(read.params)}"
            got = read.params[key]
            if self.params_as_strings:
                assert str(got) == str(want), f"{key}: {got!r} != {want!r}"
            elif self.params_numbers_as_float and type(want) is int:
                assert got == want and type(got) is float, f"{key}: {got!r} != {want!r}"
            else:
                assert got == want and type(got) is type(want), f"{key}: {got!r} != {want!r}"

    def assert_metrics(self, read: Readback, expected: dict[str, list[tuple[int, float]]]) -> None:
        assert set(read.metrics) >= set(expected), (
            f"metrics missing from the store: {sorted(set(expected) - set(read.metrics))}")
        for name, points in expected.items():
            got = read.metrics[name]
            assert [s for s, _ in got] == [s for s, _ in points], f"{name}: steps differ"
            for (step, value), (_, want) in zip(got, points, strict=True):
                assert self._close(value, want), f"{name} at step {step}: {value} != {want}"

    # -- metrics ---------------------------------------------------------------------------
    def test_metrics_at_steps(self, make_backend, read_back):
        self._need(make_backend, "log_metrics")
        backend = make_backend()
        expected: dict[str, list[tuple[int, float]]] = {"loss": [], "acc": [], "lr": []}
        for step in range(0, 60, 3):
            values = {"loss": 1.0 / (step + 1), "acc": step / 60, "lr": 1e-3 * 0.9 ** step}
            if step % 2:
                values.pop("acc")  # not every metric at every step
            direct(backend).log_metrics(values, step)
            for k, v in values.items():
                expected[k].append((step, v))
        direct(backend).log_metrics({"edge": 0.1}, 1000)
        direct(backend).finalize(Status.SUCCESS)
        read = read_back(backend)
        self.assert_metrics(read, {**expected, "edge": [(1000, 0.1)]})

    def test_nan_and_inf_are_stored_or_fenced_not_silently_lost(self, make_backend, read_back):
        self._need(make_backend, "log_metrics")
        backend = make_backend()
        fan = self._fan(backend)
        fan.log_metrics({"ok": 1.0, "bad": float("nan")}, step=0)
        fan.log_metrics({"ok": 2.0, "big": float("inf")}, step=1)
        summary = fan.finalize()
        stats = next(iter(summary.backends.values()))
        read = read_back(backend)
        if stats.state == "ok":
            self.assert_metrics(read, {"ok": [(0, 1.0), (1, 2.0)], "bad": [(0, float("nan"))],
                                       "big": [(1, float("inf"))]})
        else:  # a store that refuses NaN must say so (fenced, reported), never drop quietly
            assert stats.error, "backend failed without a reported error"

    # -- hyperparameters -------------------------------------------------------------------
    def test_hyperparams_nested_and_typed(self, make_backend, read_back):
        self._need(make_backend, "log_hyperparams")
        backend = make_backend()
        params = {"lr": 0.001, "epochs": 10, "amp": True, "name": "resnet", "none": None,
                  "optimizer": {"name": "adam", "betas": [0.9, 0.999]}}
        direct(backend).log_hyperparams(params)
        direct(backend).finalize(Status.SUCCESS)
        self.assert_params(read_back(backend), {"lr": 0.001, "epochs": 10, "amp": True,
                                                "name": "resnet", "optimizer/name": "adam"})

    def test_secrets_are_not_written(self, make_backend, read_back, tmp_path):
        if not self.secret_options:
            pytest.skip("backend declares no secret options")
        backend = make_backend(**self.secret_options)
        for hook, kwargs in (("log_hyperparams", {"params": {"lr": 0.1}}),
                             ("log_metrics", {"metrics": {"x": 1.0}, "step": 0})):
            if hook in self._hooks(make_backend):
                getattr(direct(backend), hook)(**kwargs)
        direct(backend).finalize(Status.SUCCESS)
        read_back(backend)
        root = (tmp_path / self.output_subdir).resolve()
        for secret in self.secret_options.values():
            for path in root.rglob("*"):
                if path.is_file():
                    assert secret.encode() not in path.read_bytes(), f"secret written to {path}"

    # -- media -----------------------------------------------------------------------------
    def test_text(self, make_backend, read_back):
        self._need(make_backend, "log_text")
        backend = make_backend()
        direct(backend).log_text("samples/pred", "the cat sat", 3)
        direct(backend).log_text("samples/pred", "on the mat ✓", 7)
        direct(backend).finalize(Status.SUCCESS)
        texts = read_back(backend).texts.get("samples/pred")
        assert texts == [(3, "the cat sat"), (7, "on the mat ✓")], texts

    def test_image(self, make_backend, read_back):
        import numpy as np

        self._need(make_backend, "log_image")
        backend = make_backend()
        rng = np.random.default_rng(0)
        call = direct(backend)
        call.log_image("img/float_chw", rng.random((3, 8, 12), dtype=np.float32), 1, "CHW")
        call.log_image("img/uint8_hwc", rng.integers(0, 255, (8, 12, 3), dtype=np.uint8), 2,
                       "HWC")
        direct(backend).finalize(Status.SUCCESS)
        images = read_back(backend).images
        for key, step in (("img/float_chw", 1), ("img/uint8_hwc", 2)):
            assert images.get(key) == [(step, (8, 12))], f"{key}: {images.get(key)}"

    def test_histogram(self, make_backend, read_back):
        import numpy as np

        self._need(make_backend, "log_histogram")
        backend = make_backend()
        direct(backend).log_histogram("weights", np.linspace(-1, 1, 1000), 5, 32)
        direct(backend).finalize(Status.SUCCESS)
        assert read_back(backend).histograms.get("weights") == [5]

    def test_audio(self, make_backend, read_back):
        import numpy as np

        self._need(make_backend, "log_audio")
        backend = make_backend()
        clip = np.sin(np.linspace(0, 440 * 2 * np.pi, 8000)).astype(np.float32) * 0.5
        direct(backend).log_audio("tone", clip, 4, 8000)
        direct(backend).finalize(Status.SUCCESS)
        assert read_back(backend).audio.get("tone") == [4]

    def test_figure(self, make_backend, read_back):
        self._need(make_backend, "log_figure")
        plt = pytest.importorskip("matplotlib.pyplot")
        backend = make_backend()
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        direct(backend).log_figure("curve", fig, 2)
        plt.close(fig)
        direct(backend).finalize(Status.SUCCESS)
        assert read_back(backend).figures.get("curve") == [2]

    def test_artifact(self, make_backend, read_back, tmp_path):
        self._need(make_backend, "log_artifact")
        backend = make_backend()
        path = tmp_path / "kit-artifacts" / "model.ckpt"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"weights" * 100)
        direct(backend).log_artifact(str(path), "model.ckpt", {"kind": "checkpoint", "step": 10})
        direct(backend).finalize(Status.SUCCESS)
        artifacts = read_back(backend).artifacts
        assert any(Path(a).name == "model.ckpt" for a in artifacts), artifacts

    def test_unsupported_hooks_are_left_alone(self, make_backend):
        """Hooks a backend cannot serve are simply not implemented (the fan-out warns once);
        the ones it implements must not raise (no NotImplementedError stubs)."""
        import numpy as np

        backend = make_backend()
        implemented = self._hooks(make_backend)
        fan = self._fan(backend)
        calls = {
            "log_text": lambda: fan.log_text("k", "v", 0),
            "log_image": lambda: fan.log_image("k", np.zeros((4, 4)), 0, "HW"),
            "log_histogram": lambda: fan.log_histogram("k", np.zeros(4), 0),
            "log_audio": lambda: fan.log_audio("k", np.zeros(16), 0, 8000),
            "log_artifact": lambda: fan.log_artifact(__file__, None, {}),
        }
        for hook, call in calls.items():
            if hook in implemented:
                call()
            else:
                with pytest.warns(UserWarning, match=f"does not support {hook}"):
                    call()
        summary = fan.finalize()
        stats = next(iter(summary.backends.values()))
        assert stats.state == "ok" and stats.errors == 0, summary.format()

    # -- lifecycle -------------------------------------------------------------------------
    def test_flush_and_finalize_are_idempotent(self, make_backend, read_back):
        backend = make_backend()
        hooks = self._hooks(make_backend)
        if "log_metrics" in hooks:
            direct(backend).log_metrics({"x": 1.0}, 0)
        for _ in range(2):
            if "save" in hooks:
                direct(backend).save()
        if "finalize" in hooks:
            direct(backend).finalize(Status.SUCCESS)
            direct(backend).finalize(Status.SUCCESS)
        read = read_back(backend)
        if "log_metrics" in hooks:
            self.assert_metrics(read, {"x": [(0, 1.0)]})

    @pytest.mark.parametrize("status", list(Status))
    def test_finalize_with_each_status(self, make_backend, read_back, status):
        self._need(make_backend, "finalize")
        backend = make_backend()
        if "log_metrics" in self._hooks(make_backend):
            direct(backend).log_metrics({"x": 1.0}, 0)
        direct(backend).finalize(status)
        read = read_back(backend)
        if self.records_status:
            assert read.status == status.value, f"stored status {read.status!r} != {status.value}"

    def test_resume_continues_without_duplicates(self, make_backend, read_back):
        self._need(make_backend, "state_dict", "load_state_dict", "log_metrics")
        first = make_backend()
        for step in range(10):
            direct(first).log_metrics({"loss": float(step)}, step)
        state = direct(first).state_dict()
        assert state.get("step") == 9, f"state_dict()['step'] should be the last step: {state}"
        state = pickle.loads(pickle.dumps(state))  # it travels inside checkpoints
        direct(first).finalize(Status.INTERRUPTED)
        second = make_backend()
        direct(second).load_state_dict(state)
        for step in range(8, 15):  # the restarted loop repeats the last steps
            direct(second).log_metrics({"loss": float(step) + 0.5 * (step > 9)}, step)
        direct(second).finalize(Status.SUCCESS)
        read = read_back(second)
        want = [(s, float(s)) for s in range(10)] + [(s, s + 0.5) for s in range(10, 15)]
        self.assert_metrics(read, {"loss": want})

    def test_resume_after_a_crash_past_the_checkpoint(self, make_backend, read_back):
        """The checkpoint is older than the crash: the store already holds steps 6..9 when
        training restarts from step 5 and logs 4..12 again. Each step must end up stored
        once; a backend may keep the first values (skip what it holds) or replace them
        (truncate, purge) for steps after the checkpoint."""
        self._need(make_backend, "state_dict", "load_state_dict", "log_metrics")
        first = make_backend()
        for step in range(10):
            direct(first).log_metrics({"loss": float(step)}, step)
            if step == 5:
                state = pickle.loads(pickle.dumps(direct(first).state_dict()))
        direct(first).finalize(Status.FAILED)
        second = make_backend()
        direct(second).load_state_dict(state)
        for step in range(4, 13):
            direct(second).log_metrics({"loss": step + 0.5}, step)
        direct(second).finalize(Status.SUCCESS)
        got = read_back(second).metrics.get("loss", [])
        assert [s for s, _ in got] == list(range(13)), f"steps stored: {[s for s, _ in got]}"
        for step, value in got:
            allowed = ({float(step)} if step <= 5 else {step + 0.5} if step > 9
                       else {float(step), step + 0.5})
            assert any(self._close(value, want) for want in allowed), (
                f"loss at step {step}: {value} (expected one of {sorted(allowed)})")

    # -- under the fan-out -----------------------------------------------------------------
    def test_by_name_through_the_fanout(self, make_backend, read_back):
        if self.name is None:
            pytest.skip("no entry-point name declared (class attribute `name`)")
        from fanlog.plugins import discover

        info = discover().get(self.name)
        assert isinstance(make_backend(), info.load()), "entry point loads another class"

    def test_worker_thread_delivers_everything_in_order(self, make_backend, read_back):
        self._need(make_backend, "log_metrics")
        backend = make_backend()
        fan = self._fan(backend)
        for step in range(300):
            fan.log_metrics({"m": step * 0.25}, step=step)
        summary = fan.finalize()
        stats = next(iter(summary.backends.values()))
        assert stats.state == "ok" and stats.lost == 0, summary.format()
        self.assert_metrics(read_back(backend), {"m": [(s, s * 0.25) for s in range(300)]})

    def test_picklable_before_the_run_starts(self, make_backend):
        backend = make_backend()
        clone = pickle.loads(pickle.dumps(backend))  # ddp spawn and checkpoints pickle it
        assert type(clone) is type(backend)

    def test_leaves_process_state_alone(self, make_backend, read_back):
        """A backend (or its SDK) must not take over what belongs to the program: Ctrl-C and
        SIGTERM handling (the fan-out's interrupted status depends on it), the exception
        hook, ``sys.exit``, the standard streams, the working directory."""
        import signal
        import sys

        from fanlog.testing.runs import fake_training_run

        backend = make_backend()
        fan = self._fan(backend)  # backends start lazily: the SDK has not run yet
        before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM),
                  sys.excepthook, sys.exit, sys.stdout, sys.stderr, Path.cwd())
        fake_training_run(fan, steps=10)
        summary = fan.finalize()
        after = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM),
                 sys.excepthook, sys.exit, sys.stdout, sys.stderr, Path.cwd())
        names = ("SIGINT handler", "SIGTERM handler", "sys.excepthook", "sys.exit",
                 "sys.stdout", "sys.stderr", "working directory")
        changed = [n for n, b, a in zip(names, before, after, strict=True) if b != a]
        assert not changed, f"the backend changed the process's {', '.join(changed)}"
        stats = next(iter(summary.backends.values()))
        assert stats.state == "ok", summary.format()

    def test_two_runs_side_by_side(self, make_backend, read_back, tmp_path):
        self._need(make_backend, "log_metrics")
        if not self.concurrent_runs:
            pytest.skip("backend declares concurrent_runs = False")
        a, b = make_backend(), make_backend()
        fan = self._fan(a, b)
        for step in range(10):
            fan.log_metrics({"m": float(step)}, step=step)
        fan.finalize()
        for backend in (a, b):
            self.assert_metrics(read_back(backend), {"m": [(s, float(s)) for s in range(10)]})
