"""The memory store on SQLite and on Postgres (real embedding model)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text, update

from state import Memory, Settings
from tools.memory.rules import MemoryCandidate, extract_memories
from tools.services import create_services

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
async def services(request, tmp_path, embeddings):
    overrides = {}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        overrides["database_url"] = url.replace("postgresql://", "postgresql+psycopg://", 1)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", **overrides)
    built = await create_services(settings, embeddings=embeddings)
    yield built
    await built.aclose()


def fact(content, kind="issue", slot=None):
    return MemoryCandidate(kind, content, slot, 0.5)


async def live(services, user="u1", tenant="t1"):
    return [m["content"] for m in await services.memory.list_memories(tenant, user)]


async def test_exact_and_paraphrase_duplicates_merge_distinct_facts_do_not(services):
    store = services.memory
    first = await store.remember("t1", "u1", [fact("Problem: I was charged twice for my plan")])
    again = await store.remember("t1", "u1", [fact("problem: I was charged TWICE for my plan!")])
    para = await store.remember("t1", "u1", [fact("Problem: my plan was billed two times")])
    other = await store.remember("t1", "u1", [fact("Problem: my Lumora Lock battery is low")])
    code_a = await store.remember("t1", "u1", [fact("Problem: thermostat shows error E-104")])
    code_b = await store.remember("t1", "u1", [fact("Problem: thermostat shows error E-107")])
    assert [r.action for r in first + again + para + other + code_a + code_b] == [
        "added",
        "merged",
        "merged",
        "added",
        "added",
        "added",
    ]
    assert len(await live(services)) == 4


async def test_newer_plan_supersedes_and_history_is_kept(services):
    store = services.memory
    await store.remember("t1", "u1", extract_memories("I'm on the Basic plan"))
    result = await store.remember("t1", "u1", extract_memories("I upgraded to Pro today"))
    assert result[0].action == "superseded"
    assert await live(services) == ["On the Pro plan"]
    history = await store.list_memories("t1", "u1", include_archived=True)
    basic = next(m for m in history if m["content"] == "On the Basic plan")
    assert basic["archived_at"] and basic["superseded_by"] == result[0].memory_id
    recalled = await store.recall("t1", "u1", "which plan am I on?")
    assert [m.content for m in recalled] == ["On the Pro plan"]


async def test_a_turns_new_facts_and_its_query_take_one_model_call(services):
    """What ``remember`` does each turn: store what was said, recall by the query."""
    store, embeddings = services.memory, services.embeddings
    await store.remember("t1", "u1", extract_memories("I'm on the Basic plan"))
    embeddings.reset_cache()  # the model is shared by the tests: nothing of theirs counts
    calls = embeddings.encode_calls
    recalled = await store.remember_and_recall(
        "t1",
        "u1",
        extract_memories("I upgraded to Pro today, my Lumora Hub keeps dropping Wi-Fi"),
        "why does my hub keep going offline?",
    )
    assert embeddings.encode_calls == calls + 1
    assert "On the Pro plan" in [m.content for m in recalled]
    assert "On the Basic plan" not in [m.content for m in recalled]  # superseded first


async def test_memories_are_read_while_the_query_is_embedded(services, monkeypatch):
    """A turn without new facts reads the memories before its query vector is there: a
    customer with no memories never waits for it, and one with memories gets them ranked
    by it once it comes."""
    store = services.memory
    await store.remember("t1", "u1", extract_memories("I'm on the Pro plan"))
    embed = store.queries.embed_together  # the store's way to the model, held back here
    released = asyncio.Event()

    async def held_back(texts):
        await released.wait()
        return await embed(texts)

    monkeypatch.setattr(store.queries, "embed_together", held_back)
    nobody = await asyncio.wait_for(store.remember_and_recall("t1", "new", [], "plan?"), 5)
    assert nobody == []
    someone = asyncio.create_task(store.remember_and_recall("t1", "u1", [], "which plan?"))
    await asyncio.sleep(0.2)
    assert not someone.done()  # the ranking waits for the vector
    released.set()
    assert [m.content for m in await someone] == ["On the Pro plan"]


async def test_going_back_to_an_earlier_plan_restores_it(services):
    store = services.memory
    for said in ("I'm on the Pro plan", "I downgraded to Basic", "I upgraded to Pro again"):
        await store.remember("t1", "u1", extract_memories(said))
    assert await live(services) == ["On the Pro plan"]
    history = await store.list_memories("t1", "u1", include_archived=True)
    assert sorted(m["content"] for m in history) == ["On the Basic plan", "On the Pro plan"]


async def test_different_products_are_both_kept(services):
    store = services.memory
    await store.remember("t1", "u1", extract_memories("I have a Lumora Cam"))
    await store.remember("t1", "u1", extract_memories("I also bought a Lumora Hub"))
    assert sorted(await live(services)) == ["Has a Lumora Cam", "Has a Lumora Hub"]


async def test_recency_decay_orders_old_and_recent_memories(services):
    store = services.memory
    await store.remember("t1", "u1", [fact("Problem: my Lumora Cam is offline")])
    await store.remember("t1", "u1", [fact("Problem: my Lumora Cam shows a blinking red light")])
    assert len(await live(services)) == 2
    old = datetime.now(UTC) - timedelta(days=120)
    async with services.sessions() as session, session.begin():
        await session.execute(
            update(Memory).where(Memory.content.like("%offline%")).values(last_accessed_at=old)
        )
    recalled = await store.recall("t1", "u1", "my Lumora Cam is offline", k=2)
    assert recalled[0].content.endswith("red light")
    assert recalled[0].score > 4 * recalled[1].score  # four half-lives apart


async def test_ttl_expiry_archives_then_retention_deletes(services):
    store = services.memory
    await store.remember("t1", "u1", [fact("Problem: my parcel is late")])  # issue TTL 90 days
    assert await store.prune() == {"archived": 0, "deleted": 0}
    later = datetime.now(UTC) + timedelta(days=91)
    assert (await store.prune(now=later))["archived"] == 1
    assert await store.recall("t1", "u1", "parcel late") == []
    assert len(await store.list_memories("t1", "u1", include_archived=True)) == 1
    assert (await store.prune(now=later + timedelta(days=31)))["deleted"] == 1
    assert await store.list_memories("t1", "u1", include_archived=True) == []


async def test_secrets_never_reach_the_database(services):
    store = services.memory
    await store.remember(
        "t1",
        "u1",
        [fact("Problem: my card 4111 1111 1111 1111 was declined, password is hunter22")],
    )
    async with services.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT content FROM memories"))).all()
    dump = " ".join(r[0] for r in rows)
    assert rows and "4111" not in dump and "hunter22" not in dump
    assert "[REDACTED card]" in dump


async def test_other_tenants_and_users_read_nothing(services):
    store = services.memory
    await store.remember("t1", "alice", extract_memories("I'm on the Pro plan"))
    assert await store.recall("t1", "bob", "which plan am I on") == []
    assert await store.recall("t2", "alice", "which plan am I on") == []
    assert await store.list_memories("t2", "alice") == []
    mine = (await store.list_memories("t1", "alice"))[0]["id"]
    assert await store.forget_memory("t1", "bob", mine) is False
    assert await live(services, user="alice") == ["On the Pro plan"]


async def test_encryption_round_trip_and_key_rotation(tmp_path, embeddings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    data = tmp_path / "data"
    first = await create_services(
        Settings(_env_file=None, data_dir=data, memory_encryption_key=old_key),
        embeddings=embeddings,
    )
    await first.memory.remember("t1", "u1", extract_memories("I'm on the Pro plan"))
    async with first.engine.connect() as conn:
        stored = (await conn.execute(select(Memory.content))).scalar_one()
    assert "Pro" not in stored
    assert await live(first) == ["On the Pro plan"]
    await first.aclose()

    rotated = await create_services(
        Settings(_env_file=None, data_dir=data, memory_encryption_key=f"{new_key},{old_key}"),
        embeddings=embeddings,
    )
    assert await live(rotated) == ["On the Pro plan"], "old key still decrypts"
    before = await rotated.memory.remember("t1", "u1", extract_memories("I'm on the Pro plan"))
    assert before[0].action == "merged", "hashes under older keys still match"
    assert await rotated.memory.rotate_keys() == 1
    again = await rotated.memory.remember("t1", "u1", extract_memories("I'm on the Pro plan"))
    assert again[0].action == "merged", "rehashed with the new key"
    await rotated.aclose()

    only_new = await create_services(
        Settings(_env_file=None, data_dir=data, memory_encryption_key=new_key),
        embeddings=embeddings,
    )
    assert await live(only_new) == ["On the Pro plan"]
    await only_new.aclose()
