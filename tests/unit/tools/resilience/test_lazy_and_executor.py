from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tools.resilience.errors import InitializationError
from tools.resilience.executor import BlockingExecutor, ExecutorClosedError
from tools.resilience.lazy import LazyResource


async def test_concurrent_first_calls_initialise_once():
    async def build():
        await asyncio.sleep(0.05)
        return object()

    lazy = LazyResource("thing", build)
    values = await asyncio.gather(*(lazy.get() for _ in range(20)))
    assert lazy.initialisations == 1
    assert all(v is values[0] for v in values)


async def test_failed_initialisation_is_an_error_with_the_reason_and_is_retried_later():
    attempts = {"n": 0}

    async def build():
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise ConnectionError("database refused the connection")
        return "ready"

    lazy = LazyResource("database", build, retry_after_s=0.1)
    with pytest.raises(InitializationError, match="database refused the connection"):
        await lazy.get()
    with pytest.raises(InitializationError, match="retrying in"):
        await lazy.get()  # too soon: the dead dependency is not hammered
    assert attempts["n"] == 1
    await asyncio.sleep(0.12)
    assert await lazy.get() == "ready"
    assert attempts["n"] == 2


async def test_executor_runs_blocking_work_off_the_loop_and_tracks_it():
    executor = BlockingExecutor(workers=2)
    main_thread = threading.get_ident()
    started = threading.Event()

    def blocking():
        started.set()
        time.sleep(0.2)
        return threading.get_ident()

    job = asyncio.ensure_future(executor.run(blocking))
    await asyncio.sleep(0.05)
    assert started.is_set() and executor.in_flight == 1
    ticks = 0
    while not job.done():
        ticks += 1
        await asyncio.sleep(0.01)
    assert await job != main_thread
    assert ticks > 5, "the event loop kept running while the work blocked"
    assert executor.in_flight == 0
    await executor.shutdown(1)


async def test_shutdown_waits_for_in_flight_work_within_the_timeout():
    executor = BlockingExecutor(workers=1)
    done = []
    job = asyncio.ensure_future(executor.run(lambda: (time.sleep(0.1), done.append(1))))
    await asyncio.sleep(0.02)
    assert await executor.shutdown(timeout=2) is True
    await job
    assert done == [1]
    with pytest.raises(ExecutorClosedError):
        await executor.run(lambda: None)


async def test_shutdown_gives_up_after_the_timeout_without_blocking_the_loop():
    executor = BlockingExecutor(workers=1)
    release = threading.Event()
    blocker = asyncio.ensure_future(executor.run(release.wait, 5))
    queued = asyncio.ensure_future(executor.run(lambda: "never"))
    await asyncio.sleep(0.02)
    ticker = asyncio.ensure_future(asyncio.sleep(0.05))
    assert await executor.shutdown(timeout=0.2) is False
    assert ticker.done()
    release.set()
    assert await blocker is True
    with pytest.raises(asyncio.CancelledError):
        await queued
