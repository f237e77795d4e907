"""Converters that misbehave on purpose, run inside the real isolated child (tests only)."""

from __future__ import annotations

import socket
import time
from typing import Any


def sleepy(data: bytes, detected: str, limits: dict[str, Any]) -> dict[str, Any]:
    """A parser that hangs on a hostile file."""
    time.sleep(600)
    return {"markdown": "never"}


def memory_hog(data: bytes, detected: str, limits: dict[str, Any]) -> dict[str, Any]:
    """A parser that tries to inflate a file to gigabytes."""
    blob = bytearray(8 * 1024**3)
    return {"markdown": str(len(blob))}


def phone_home(data: bytes, detected: str, limits: dict[str, Any]) -> dict[str, Any]:
    """A parser that fetches a URL named in the document."""
    port = int(data.decode())
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return {"markdown": "fetched"}


def crash(data: bytes, detected: str, limits: dict[str, Any]) -> dict[str, Any]:
    """A parser that takes the process down (a native crash)."""
    import os
    import signal

    os.kill(os.getpid(), signal.SIGSEGV)
    return {"markdown": "never"}
