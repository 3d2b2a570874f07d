"""The text log's files: the ``fanlog`` Python logger's handlers for one run, ``run.log``
on rank 0 and, at DEBUG, ``run_rank<N>.log`` on every other rank. Backends that print text
(the console) get the same lines through the ``on_log_line`` callback hook."""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger("fanlog")
FORMAT = "%(asctime)s - fanlog - %(levelname)s - %(message)s"
DATEFMT = "%m/%d %H:%M:%S"


class TextLog:
    """The ``fanlog`` logger's file handlers for one run: ``run.log`` on rank 0 and, when
    ``level`` is DEBUG, ``run_rank<N>.log`` on the other ranks. :meth:`close` restores the
    logger as it was."""

    def __init__(self, folder: str | Path, rank: int, level: int | str = "INFO") -> None:
        self.level = logging.getLevelName(level) if isinstance(level, str) else level
        if not isinstance(self.level, int):
            raise ValueError(f"log_level must be a logging level name or number, got {level!r}")
        self._old_level = log.level
        self.handler: logging.Handler | None = None
        if rank == 0 or self.level <= logging.DEBUG:
            path = Path(folder) / ("run.log" if rank == 0 else f"run_rank{rank}.log")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handler = logging.FileHandler(path, encoding="utf-8")
            self.handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
            self.handler.setLevel(self.level)
            log.addHandler(self.handler)
            if log.level == logging.NOTSET or log.level > self.level:
                log.setLevel(self.level)

    @property
    def active(self) -> bool:
        """Whether lines written here go anywhere (worth formatting)."""
        return self.handler is not None

    def info(self, line: str) -> None:
        """Write one INFO line. While this file is all that listens to the ``fanlog``
        logger, the line goes straight to it: the logging machinery costs ten times the
        write, at every logging step."""
        handler = self.handler
        if handler is None:
            return
        if len(log.handlers) > 1 or (log.propagate and logging.getLogger().handlers):
            log.info(line)
            return
        text = f"{time.strftime(DATEFMT)} - fanlog - INFO - {line}\n"
        with handler.lock:
            handler.stream.write(text)
            handler.stream.flush()

    def close(self) -> None:
        if self.handler is not None:
            log.removeHandler(self.handler)
            self.handler.close()
            self.handler = None
        log.setLevel(self._old_level)
