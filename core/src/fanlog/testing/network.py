"""Keep a test off the network: a look-up or connection fails at once instead of waiting on
a time-out, and every attempt is recorded so a test can assert there was none."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def blocked_network() -> Iterator[list[object]]:
    """Make every DNS look-up and non-local connect fail at once, and record it."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> None:
        if sock.family == socket.AF_UNIX:
            return real_connect(sock, address)
        attempts.append(address)
        raise OSError(f"network blocked in tests: connect {address}")

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        attempts.append(host)
        raise socket.gaierror(f"network blocked in tests: look-up {host}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield attempts
