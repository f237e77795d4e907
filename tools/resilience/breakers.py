"""Circuit breakers (aiobreaker), in process or shared by several workers through Redis.

aiobreaker reads and writes its storage synchronously, from inside every call.
Its own Redis storage therefore does a network round trip on the event loop for
each call (measured in ``bench/resilience.py``). ``SharedBreakerStorage``
keeps the state in memory, where aiobreaker reads it, and a background task
mirrors it to Redis: local changes are pushed (counter increments atomically),
and the shared state is pulled every ``breaker_sync_interval_s``. Workers see
each other's open circuits within that interval. When Redis is down the
breakers keep working in process, with a warning, and resync when it returns.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from aiobreaker import CircuitBreaker, CircuitBreakerState
from aiobreaker.storage.base import CircuitBreakerStorage
from aiobreaker.storage.memory import CircuitMemoryStorage

from state import ResiliencePolicy
from tools.resilience.errors import InvalidRequestError, MalformedResponseError

__all__ = ["BreakerRegistry", "SharedBreakerStorage", "is_trial", "seconds_until_trial"]

logger = logging.getLogger(__name__)

_NAMESPACE = "support-agent:breaker"


class SharedBreakerStorage(CircuitBreakerStorage):
    """Breaker state in memory, mirrored to Redis by ``RedisMirror`` (never blocks the loop)."""

    def __init__(self, name: str, mirror: RedisMirror) -> None:
        super().__init__(name)
        self._state = CircuitBreakerState.CLOSED
        self._counter = 0
        self._opened_at: datetime | None = None
        self._mirror = mirror

    @property
    def state(self) -> CircuitBreakerState:
        """Current state (local copy of the shared one)."""
        return self._state

    @state.setter
    def state(self, state: CircuitBreakerState) -> None:
        self._state = state
        self._mirror.push(self.name, "state", state.name, self._opened_at)

    def increment_counter(self) -> None:
        """Count a failure here and in Redis."""
        self._counter += 1
        self._mirror.push(self.name, "incr")

    def reset_counter(self) -> None:
        """Clear the failure count here and in Redis."""
        self._counter = 0
        self._mirror.push(self.name, "reset")

    @property
    def counter(self) -> int:
        """Failures counted so far."""
        return self._counter

    @property
    def opened_at(self) -> datetime | None:
        """When the circuit last opened (naive UTC, as aiobreaker writes it)."""
        return self._opened_at

    @opened_at.setter
    def opened_at(self, value: datetime | None) -> None:
        self._opened_at = value
        self._mirror.push(self.name, "state", self._state.name, value)

    def adopt(self, remote: dict[str, str]) -> None:
        """Take the shared state pulled from Redis."""
        if "state" in remote:
            self._state = CircuitBreakerState[remote["state"]]
        if remote.get("opened_at"):
            # aiobreaker keeps naive UTC datetimes
            utc = datetime.fromtimestamp(float(remote["opened_at"]), UTC)
            self._opened_at = utc.replace(tzinfo=None)
        if "counter" in remote:
            self._counter = int(remote["counter"])


class RedisMirror:
    """The background task that pushes local breaker changes to Redis and pulls shared ones."""

    def __init__(self, url: str, interval_s: float, namespace: str = _NAMESPACE) -> None:
        self.url = url
        self.interval_s = interval_s
        self.namespace = namespace
        self.storages: dict[str, SharedBreakerStorage] = {}
        self.available = False
        self._queue: list[tuple[Any, ...]] = []
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._warned = False
        self._closing = False
        self._client: Any = None

    def push(self, name: str, op: str, *args: Any) -> None:
        """Queue a change for Redis (called synchronously by aiobreaker)."""
        self._queue.append((name, op, *args))
        if self._wake is not None:
            self._wake.set()

    def ensure_started(self) -> None:
        """Start the sync task on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="breaker-sync")

    async def sync_now(self) -> None:
        """Push pending changes and pull the shared state once (tests and start-up use it)."""
        await self._sync_once()

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closing:
            await self._sync_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
        await self._sync_once()  # flush what is pending before stopping

    async def _sync_once(self) -> None:
        try:
            client = await self._connect()
            await client.ping()
            pending, self._queue = self._queue, []
            try:
                for name, op, *args in pending:
                    key = f"{self.namespace}:{name}"
                    if op == "incr":
                        await client.hincrby(key, "counter", 1)
                    elif op == "reset":
                        await client.hset(key, "counter", 0)
                    else:
                        state, opened_at = args
                        stamp = calendar.timegm(opened_at.utctimetuple()) if opened_at else ""
                        mapping = {"state": state, "opened_at": stamp}
                        await client.hset(key, mapping=mapping)
            except Exception:
                self._queue = pending + self._queue
                raise
            for name, storage in self.storages.items():
                remote = await client.hgetall(f"{self.namespace}:{name}")
                if remote:
                    storage.adopt(remote)
            if not self.available:
                logger.info("circuit breakers are shared through Redis")
            self.available, self._warned = True, False
        except Exception as exc:
            self.available = False
            self._client = None
            if not self._warned:
                logger.warning(
                    "Redis unavailable for shared circuit breakers (%s); using in-process state",
                    type(exc).__name__,
                )
                self._warned = True

    async def _connect(self) -> Any:
        if self._client is None:
            import redis.asyncio as redis

            self._client = redis.from_url(
                self.url, decode_responses=True, socket_connect_timeout=1, socket_timeout=1
            )
        return self._client

    async def aclose(self) -> None:
        """Flush what is pending (best effort, bounded) and stop."""
        self._closing = True
        if self._task is not None and not self._task.done():
            assert self._wake is not None
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 3)
            except (TimeoutError, Exception):
                self._task.cancel()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.aclose(), 2)


class BreakerRegistry:
    """One breaker per dependency name, created on first use."""

    def __init__(
        self,
        redis_url: str | None = None,
        sync_interval_s: float = 0.5,
        namespace: str = _NAMESPACE,
    ) -> None:
        self._breakers: dict[str, CircuitBreaker] = {}
        self.mirror = RedisMirror(redis_url, sync_interval_s, namespace) if redis_url else None

    def get(self, name: str, policy: ResiliencePolicy) -> CircuitBreaker:
        """The breaker for ``name`` (configured from ``policy`` the first time)."""
        breaker = self._breakers.get(name)
        if breaker is None:
            storage: CircuitBreakerStorage
            if self.mirror is not None:
                shared = SharedBreakerStorage(name, self.mirror)
                self.mirror.storages[name] = shared
                storage = shared
            else:
                storage = CircuitMemoryStorage(CircuitBreakerState.CLOSED)
            breaker = CircuitBreaker(
                fail_max=policy.breaker_fail_max,
                timeout_duration=timedelta(seconds=policy.breaker_reset_s),
                # The caller's own faults say nothing about the dependency's health.
                exclude=[InvalidRequestError, MalformedResponseError],
                state_storage=storage,
                name=name,
            )
            self._breakers[name] = breaker
        if self.mirror is not None:
            self.mirror.ensure_started()
        return breaker

    def states(self) -> dict[str, str]:
        """Current state of every breaker, for ``doctor`` and the README's fault matrix."""
        return {name: b.current_state.name.lower() for name, b in self._breakers.items()}

    async def aclose(self) -> None:
        """Stop the Redis sync task."""
        if self.mirror is not None:
            await self.mirror.aclose()


def seconds_until_trial(breaker: CircuitBreaker) -> float:
    """Seconds until an open breaker lets a trial call through (0 when it would now).

    The one place that reads aiobreaker's storage: its public ``opens_at`` compares the
    naive-UTC ``opened_at`` it stores with local ``datetime.now()`` and fails on a breaker
    that never opened, so the arithmetic is done here in UTC.
    """
    opened_at = getattr(breaker._state_storage, "opened_at", None)
    if opened_at is None:
        return 0.0
    if opened_at.tzinfo is not None:
        opened_at = opened_at.astimezone(UTC).replace(tzinfo=None)
    reopen = opened_at + breaker.timeout_duration
    return max(0.0, (reopen - datetime.now(UTC).replace(tzinfo=None)).total_seconds())


def is_trial(breaker: CircuitBreaker) -> bool:
    """Whether the next call through ``breaker`` is the trial of an open or half-open circuit."""
    state = breaker.current_state
    if state == CircuitBreakerState.HALF_OPEN:
        return True
    return state == CircuitBreakerState.OPEN and seconds_until_trial(breaker) == 0.0
