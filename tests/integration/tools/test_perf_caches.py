"""The caches behind turn latency: query embeddings, recall per (tenant, user), KB state.

Each cache must return exactly what the uncached path returns, and must never serve one
tenant's or one customer's data to another, nor data a write has changed.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete

from state import Memory, Settings
from tools.embeddings.sentence import SentenceEmbeddings
from tools.memory.rules import MemoryCandidate
from tools.services import create_services

pytestmark = pytest.mark.integration


def fact(content: str, kind: str = "issue", slot: str | None = None) -> MemoryCandidate:
    return MemoryCandidate(kind, content, slot, 0.5)


def test_query_cache_returns_the_model_vector_for_the_same_text_as_the_model_sees_it():
    embeddings = SentenceEmbeddings(cache_size=2)
    direct = embeddings.model.encode(["How do I reset my PIN?"], normalize_embeddings=True)[0]
    first = embeddings.embed_query("How do I reset my PIN?")
    assert np.allclose(first, direct, atol=1e-6)
    embedded = embeddings.queries_embedded
    # Whitespace and case do not change what an uncased model sees: served from the cache.
    assert embeddings.embed_query("  how do I RESET my   pin? ") == first
    assert embeddings.cached("HOW DO I RESET MY PIN?") == first
    assert embeddings.queries_embedded == embedded
    # Different words are a different query.
    assert embeddings.embed_query("How do I reset my password?") != first
    # Bounded: a third query evicts the least recently used one.
    embeddings.embed_query("What is the daily ATM limit?")
    embeddings.embed_query("How do I reset my PIN?")
    assert embeddings.queries_embedded == embedded + 3


@pytest.fixture(params=["sqlite", "postgres"])
async def two_processes(request, tmp_path, embeddings):
    """Two service sets on one database: the second stands in for another worker."""
    overrides = {}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        overrides["database_url"] = url.replace("postgresql://", "postgresql+psycopg://", 1)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", **overrides)
    one = await create_services(settings, embeddings=embeddings)
    other = await create_services(settings, embeddings=embeddings)
    yield one, other
    await other.aclose()
    await one.aclose()


async def contents(services, tenant: str, user: str, query: str = "my problem") -> list[str]:
    return sorted(m.content for m in await services.memory.recall(tenant, user, query, k=10))


async def test_recall_cache_keeps_tenants_and_customers_apart(two_processes):
    one, _ = two_processes
    store = one.memory
    await store.remember("bank", "u1", [fact("Problem: my card was declined abroad")])
    await store.remember("shop", "u1", [fact("Problem: my parcel never arrived")])
    await store.remember("bank", "u2", [fact("Problem: my transfer is pending")])
    for _ in range(2):  # the second round is served from the cache
        assert await contents(one, "bank", "u1") == ["Problem: my card was declined abroad"]
        assert await contents(one, "shop", "u1") == ["Problem: my parcel never arrived"]
        assert await contents(one, "bank", "u2") == ["Problem: my transfer is pending"]
    assert await contents(one, "shop", "u2") == []
    # A tenant id that joins with a user id into another pair's string is still another pair.
    await store.remember("a:b", "c", [fact("Problem: first owner")])
    await store.remember("a", "b:c", [fact("Problem: second owner")])
    assert await contents(one, "a:b", "c") == ["Problem: first owner"]
    assert await contents(one, "a", "b:c") == ["Problem: second owner"]


async def test_recall_reads_the_rows_once_until_something_changes(two_processes):
    one, _ = two_processes
    store = one.memory
    await store.remember("t", "u", [fact("Problem: the app crashes on login")])
    await store.recall("t", "u", "app crash")
    loads = store.cache_loads
    for _ in range(3):
        assert await contents(one, "t", "u") == ["Problem: the app crashes on login"]
    assert store.cache_loads == loads
    await store.remember("t", "u", [fact("Problem: I was charged twice")])
    assert len(await contents(one, "t", "u")) == 2
    assert store.cache_loads == loads + 1


async def test_writes_by_another_process_are_seen_at_the_next_recall(two_processes):
    one, other = two_processes
    await one.memory.remember("t", "u", [fact("Problem: the app crashes on login")])
    assert await contents(one, "t", "u") == ["Problem: the app crashes on login"]
    await other.memory.remember("t", "u", [fact("Problem: my statement is missing")])
    assert await contents(one, "t", "u") == [
        "Problem: my statement is missing",
        "Problem: the app crashes on login",
    ]
    # Forgetting in the other process (as `support-agent forget` would): nothing is served.
    async with other.sessions() as session, session.begin():
        await session.execute(delete(Memory).where(Memory.tenant_id == "t"))
    assert await contents(one, "t", "u") == []


async def test_forgetting_one_memory_here_drops_it_from_the_cache(two_processes):
    one, _ = two_processes
    store = one.memory
    written = await store.remember("t", "u", [fact("Problem: my card is blocked")])
    await store.remember("t", "u", [fact("Problem: the app crashes on login")])
    assert len(await contents(one, "t", "u")) == 2
    assert await store.forget_memory("t", "u", written[0].memory_id)
    assert await contents(one, "t", "u") == ["Problem: the app crashes on login"]


async def test_recall_with_and_without_the_cache_agree(tmp_path, embeddings):
    results = []
    for size in (0, 1000):
        settings = Settings(
            _env_file=None, data_dir=tmp_path / f"d{size}", memory_cache_max_memories=size
        )
        services = await create_services(settings, embeddings=embeddings)
        try:
            store = services.memory
            await store.remember("t", "u", [fact("On the Pro plan", "fact", "plan")])
            for text in (
                "Problem: my card is blocked",
                "Problem: the app crashes on login",
                "Problem: a payment to Lumora is missing",
                "Prefers email",
            ):
                await store.remember("t", "u", [fact(text)])
            rounds = []
            for query in ("card blocked", "app login crash", "missing payment", "card blocked"):
                rounds.append([m.content for m in await store.recall("t", "u", query, k=3)])
            results.append(rounds)
        finally:
            await services.aclose()
    assert results[0] == results[1]
    assert results[0][0][0] == "On the Pro plan"  # profile facts always come first
