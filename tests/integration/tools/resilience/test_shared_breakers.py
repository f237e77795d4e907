"""Circuit-breaker state shared through a real Redis, and what happens when Redis is down."""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
import uuid

import pytest

from state import PoliciesSettings, ResiliencePolicy
from tools.resilience.breakers import BreakerRegistry
from tools.resilience.errors import DependencyUnavailableError
from tools.resilience.layer import Resilience

pytestmark = pytest.mark.integration

POLICY = ResiliencePolicy(timeout_s=1, max_attempts=1, breaker_fail_max=3, breaker_reset_s=60)

OTHER_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    from state import PoliciesSettings, ResiliencePolicy
    from tools.resilience.breakers import BreakerRegistry
    from tools.resilience.errors import DependencyUnavailableError
    from tools.resilience.layer import Resilience

    async def main(url, namespace):
        registry = BreakerRegistry(url, 0.05, namespace=namespace)
        resilience = Resilience(PoliciesSettings(), registry)
        policy = ResiliencePolicy(timeout_s=1, max_attempts=1, breaker_fail_max=3,
                                  breaker_reset_s=60)
        async def down():
            raise DependencyUnavailableError("model endpoint down")
        for _ in range(3):
            await resilience.run("model", down, policy=policy)
        await registry.mirror.sync_now()
        print(registry.states()["model"])
        await registry.aclose()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_a_circuit_opened_by_one_process_is_open_in_another(redis_url):
    namespace = f"test-breaker-{uuid.uuid4().hex[:8]}"
    registry = BreakerRegistry(redis_url, 0.05, namespace=namespace)
    resilience = Resilience(PoliciesSettings(), registry)
    registry.get("model", POLICY)
    await registry.mirror.sync_now()
    assert registry.states()["model"] == "closed"

    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        OTHER_PROCESS,
        redis_url,
        namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(other.communicate(), 120)
    assert other.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == "open"

    await registry.mirror.sync_now()
    calls = []

    async def endpoint():
        calls.append(1)
        return "reply"

    result = await resilience.run("model", endpoint, policy=POLICY)
    assert result.error_kind == "circuit_open"
    assert calls == [], "this process must not call a dependency another process found down"
    await registry.aclose()


async def test_failures_from_two_workers_add_up(redis_url):
    namespace = f"test-breaker-{uuid.uuid4().hex[:8]}"
    workers = [BreakerRegistry(redis_url, 0.05, namespace=namespace) for _ in range(2)]
    layers = [Resilience(PoliciesSettings(), w) for w in workers]

    async def down():
        raise DependencyUnavailableError("down")

    await layers[0].run("kb_search", down, policy=POLICY)
    await workers[0].mirror.sync_now()
    workers[1].get("kb_search", POLICY)
    await workers[1].mirror.sync_now()
    await layers[1].run("kb_search", down, policy=POLICY)
    await workers[1].mirror.sync_now()
    await workers[0].mirror.sync_now()
    third = await layers[0].run("kb_search", down, policy=POLICY)
    assert third.error_kind == "unavailable"
    assert workers[0].states()["kb_search"] == "open"
    for worker in workers:
        await worker.aclose()


async def test_redis_down_falls_back_to_in_process_breakers_with_a_warning(caplog):
    registry = BreakerRegistry("redis://127.0.0.1:1/0", 0.05)
    resilience = Resilience(PoliciesSettings(), registry)

    async def down():
        raise DependencyUnavailableError("down")

    with caplog.at_level(logging.WARNING, logger="tools.resilience.breakers"):
        results = [await resilience.run("model", down, policy=POLICY) for _ in range(4)]
        await registry.mirror.sync_now()
    assert [r.error_kind for r in results][-1] == "circuit_open"
    assert registry.mirror.available is False
    assert "Redis unavailable for shared circuit breakers" in caplog.text
    await registry.aclose()
