"""fanlog backend ``comet``: a Comet experiment, online or as an offline archive.

Importing this package does not import comet_ml; the backend does, on its worker thread,
when the run starts.
"""

from fanlog_comet.logger import CometLogger

__all__ = ["CometLogger"]
