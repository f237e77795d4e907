"""Give the memory a large file's processing freed back to the operating system.

Reading a 10 MB file allocates tens of megabytes of short-lived strings (base64, the
decoded bytes, the converted text, its chunks). Python frees them, but glibc's
allocator keeps the freed pages in the process: measured, a process that read three
such files kept about 250 MB more than it needed until ``malloc_trim`` returned it.
So after a turn that received a large file the allocator is asked to trim, from a
short-lived thread (the call releases the GIL and takes milliseconds), a moment
later, once the turn's own references to the file are gone. Elsewhere than glibc
this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
from collections.abc import Callable

__all__ = ["LARGE_FILE_BYTES", "TRIM_DELAY_S", "can_trim", "trim_now", "trim_soon"]

logger = logging.getLogger(__name__)

LARGE_FILE_BYTES = 1_000_000
"""Files at least this large (together, in one message) are followed by a trim."""
TRIM_DELAY_S = 0.5
"""How long after the message the trim runs (the turn has let go of the file by then)."""


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """Glibc's ``malloc_trim``, or None where there is no such function."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def can_trim() -> bool:
    """Whether this process's allocator can hand memory back (glibc)."""
    return _malloc_trim() is not None


def trim_now() -> None:
    """Hand the allocator's free pages back to the operating system (where it can)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def trim_soon(received_bytes: int) -> bool:
    """Schedule a trim after a message whose files total ``received_bytes``."""
    if received_bytes < LARGE_FILE_BYTES or not can_trim():
        return False
    timer = threading.Timer(TRIM_DELAY_S, trim_now)
    timer.daemon = True
    timer.start()
    return True
