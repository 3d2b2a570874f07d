"""The conformance kit's edge-value checks (a part of :class:`BackendConformance`): names
and text with ``,`` ``"`` newlines and non-BMP characters, floats in exponent notation."""

from __future__ import annotations

from fanlog.status import Status

#: metric names a store must keep apart and give back, with values in exponent notation
#: (all within float32 range, so float32 stores compare within their tolerance)
EDGE_METRICS = {"acc,top1": 1e-05, 'say "hi"': 2.5e-08, "line\nbreak": 3e+30,
                "emoji 🚀": -1.5e-30, "数学/损失": 6.02e+23, "plain": 0.1}
#: text as it comes: separators, quotes, a newline, non-BMP and combining characters
EDGE_TEXT = 'a,b "quoted"\nsecond line: 🚀 🧪 — ünï, e\u0301'
#: hyperparameters in exponent notation and text a YAML or CSV writer must quote
EDGE_PARAMS = {"lr": 1e-05, "eps": 1e-08, "big": 3e+30, "tiny": 2.5e-300, "steps": 10**6,
               "note": EDGE_TEXT, "looks_like_float": "1e-05", "looks_like_bool": "yes"}


class EdgeValueChecks:
    """Mixed into :class:`fanlog.testing.BackendConformance`, whose helpers it uses."""

    def test_edge_names_and_exponent_values(self, make_backend, read_back):
        self._need(make_backend, "log_metrics")
        stored = [self.stored_name(name) for name in EDGE_METRICS]
        assert len(set(stored)) == len(stored), f"two names stored as one: {stored}"
        backend = make_backend()
        fan = self._fan(backend)  # through the fan-out: its name checks let them all in
        for step in (0, 1):
            fan.log_metrics({k: v * (step + 1) for k, v in EDGE_METRICS.items()}, step=step)
        summary = fan.finalize()
        assert next(iter(summary.backends.values())).state == "ok", summary.format()
        self.assert_metrics(read_back(backend), {
            self.stored_name(k): [(0, v), (1, v * 2)] for k, v in EDGE_METRICS.items()})

    def test_edge_text(self, make_backend, read_back):
        from fanlog.testing.conformance import direct

        self._need(make_backend, "log_text")
        backend = make_backend()
        direct(backend).log_text("samples/edge", EDGE_TEXT, 2)
        direct(backend).log_text("samples/edge", EDGE_TEXT[::-1], 5)
        direct(backend).finalize(Status.SUCCESS)
        texts = read_back(backend).texts.get(self.stored_name("samples/edge"))
        assert texts == [(2, EDGE_TEXT), (5, EDGE_TEXT[::-1])], texts

    def test_edge_hyperparams(self, make_backend, read_back):
        from fanlog.testing.conformance import direct

        self._need(make_backend, "log_hyperparams")
        backend = make_backend()
        direct(backend).log_hyperparams(EDGE_PARAMS)
        direct(backend).finalize(Status.SUCCESS)
        self.assert_params(read_back(backend), EDGE_PARAMS)
