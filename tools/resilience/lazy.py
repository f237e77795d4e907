"""Lazy, lock-protected initialisation of expensive or remote resources.

Concurrent first calls share one initialisation. A failed initialisation is
not cached: it raises ``InitializationError`` with the reason, and the next
call (after a short pause, so a dead dependency is not hammered) tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar, cast

from tools.resilience.errors import InitializationError

__all__ = ["LazyResource"]

T = TypeVar("T")


class LazyResource(Generic[T]):
    """Builds a value once, on first ``get()``."""

    def __init__(
        self, name: str, factory: Callable[[], Awaitable[T]], retry_after_s: float = 1.0
    ) -> None:
        self.name = name
        self._factory = factory
        self._retry_after_s = retry_after_s
        self._value: T | None = None
        self._ready = False
        self._lock: asyncio.Lock | None = None
        self._failed_at = 0.0
        self._failure = ""
        self.initialisations = 0
        """How many times the factory ran (tests prove concurrent first calls share one)."""

    @property
    def ready(self) -> bool:
        """Whether the value has been built."""
        return self._ready

    @property
    def value(self) -> T:
        """The built value; ``RuntimeError`` before it is ready (use ``get`` to build it)."""
        if not self._ready:
            raise RuntimeError(f"{self.name} is not initialised yet")
        return cast(T, self._value)

    def set(self, value: T) -> None:
        """Use an already-built value."""
        self._value, self._ready = value, True

    async def get(self) -> T:
        """The value, building it now if needed; ``InitializationError`` if that fails."""
        if self._ready:
            return cast(T, self._value)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._ready:
                return cast(T, self._value)
            wait = self._failed_at + self._retry_after_s - time.monotonic()
            if self._failure and wait > 0:
                raise InitializationError(
                    f"{self.name} is not available ({self._failure}); retrying in {wait:.1f} s",
                    tool=self.name,
                )
            self.initialisations += 1
            try:
                self._value = await self._factory()
            except Exception as exc:
                self._failed_at = time.monotonic()
                self._failure = f"{type(exc).__name__}: {exc}"[:300]
                raise InitializationError(
                    f"{self.name} could not start: {self._failure}", tool=self.name
                ) from exc
            self._ready, self._failure = True, ""
            return self._value
