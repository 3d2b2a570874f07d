"""A free TCP port on 127.0.0.1: the trainer's DDP rendezvous and the test helpers' local
servers (gloo jobs, `mlflow server`) each need one, found the same way."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the OS picks it; bind it soon)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
