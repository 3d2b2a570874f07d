"""What a plugin author tests with: the conformance kit and its helpers.

- :class:`BackendConformance` and :class:`Readback`: the base test class to subclass.
- :class:`RecordingLogger`: a backend recording every call.
- :func:`fake_training_run`: a tiny run through a fan-out that calls every hook.
- :func:`run_gloo`: run a function in two CPU processes joined by gloo.

The pytest plugin in :mod:`fanlog.testing.plugin` also offers them as fixtures
(``fanlog_recorder``, ``fanlog_fake_run``, ``fanlog_gloo``).
"""

from fanlog.testing.conformance import BackendConformance, Readback
from fanlog.testing.recording import RecordingLogger
from fanlog.testing.runs import fake_training_run, run_gloo

__all__ = ["BackendConformance", "Readback", "RecordingLogger", "fake_training_run", "run_gloo"]
