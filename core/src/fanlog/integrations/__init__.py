"""fanlog's fan-out inside the trainers people already use.

- :mod:`fanlog.integrations.lightning`: ``FanLogger``, a Lightning ``Logger``
  (``pytorch_lightning``: :mod:`fanlog.integrations.pytorch_lightning`).
- :mod:`fanlog.integrations.transformers`: ``FanLogCallback``, a Hugging Face
  ``TrainerCallback``.
- :mod:`fanlog.integrations.accelerate`: ``FanLogTracker``, an Accelerate ``GeneralTracker``.

Each module imports its framework; this package imports none of them.
"""
