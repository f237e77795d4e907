"""One BLAS thread for the vector products a turn computes (search, recall, files).

NumPy's OpenBLAS splits a matrix-vector product over every core. Right after the
model's ``encode`` its threads still hold those cores, so the split product of the
tau2 KB's 1,228 chunk vectors took 5-12 ms instead of 0.1 ms (``bench/turns.py``
profile); one thread does it at once, and leaves the other core to the model.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from threadpoolctl import ThreadpoolController

__all__ = ["one_blas_thread"]


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # finds the loaded BLAS libraries once


def one_blas_thread() -> Any:
    """Context manager: NumPy's BLAS on one thread inside it (restored on exit)."""
    return _controller().limit(limits=1, user_api="blas")
