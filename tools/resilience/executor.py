"""A bounded executor for blocking work (embedding, conversion, sync drivers).

Blocking calls never run on the event loop: the LangGraph dev server raises on
them, and a blocked loop stalls every conversation in the process. Work is
bounded by the worker count, tracked while in flight, and refused after
shutdown. Shutdown waits for in-flight work up to a timeout without blocking
the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["BlockingExecutor", "ExecutorClosedError"]


class ExecutorClosedError(RuntimeError):
    """Work was submitted after shutdown."""


class BlockingExecutor:
    """Runs blocking callables in a fixed pool of threads, awaited from async code."""

    def __init__(self, workers: int = 2, name: str = "support-agent") -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False
        self.workers = workers

    @property
    def in_flight(self) -> int:
        """Number of submitted calls not yet finished."""
        return self._in_flight

    @property
    def closed(self) -> bool:
        """Whether shutdown has begun."""
        return self._closed

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` in a worker thread (with the caller's context vars) and await it."""
        with self._lock:
            if self._closed:
                raise ExecutorClosedError("the executor is shut down; no new work accepted")
            self._in_flight += 1
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, call)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def shutdown(self, timeout: float = 10.0) -> bool:
        """Refuse new work, wait up to ``timeout`` s for in-flight work; True if it all ended."""
        with self._lock:
            self._closed = True
        loop = asyncio.get_running_loop()
        waiter = loop.run_in_executor(None, functools.partial(self._pool.shutdown, wait=True))
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
            return True
        except TimeoutError:
            self._pool.shutdown(wait=False, cancel_futures=True)
            return False

    def shutdown_sync(self) -> None:
        """Shut down from synchronous code (at interpreter exit)."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
