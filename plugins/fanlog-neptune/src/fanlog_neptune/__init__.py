"""fanlog backend ``neptune``: a Neptune run through the neptune 1.x client.

Importing this package does not import neptune; the backend does, on its worker thread,
when the run starts.
"""

from fanlog_neptune.logger import NeptuneLogger

__all__ = ["NeptuneLogger"]
