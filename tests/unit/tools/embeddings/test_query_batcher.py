"""QueryBatcher: concurrent queries share model calls, answers stay in order, failures reach
every caller, a caller that gives up does not disturb the others (no model needed)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from tools.embeddings.sentence import QueryBatcher
from tools.resilience.executor import BlockingExecutor


class FakeEmbeddings:
    """Vectors derived from the text; records each batch; can be made slow or failing."""

    def __init__(self, delay: float = 0.05, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.cache: dict[str, list[float]] = {}
        self.delay = delay
        self.fail = fail
        self.release = threading.Event()

    def cache_key(self, text: str) -> str:
        return " ".join(text.split())

    def cached(self, text: str) -> list[float] | None:
        return self.cache.get(text)

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        self.release.wait(self.delay)
        if self.fail:
            raise RuntimeError("model exploded")
        return [[float(len(t)), float(sum(map(ord, t)))] for t in texts]


def vector(text: str) -> list[float]:
    return [float(len(text)), float(sum(map(ord, text)))]


@pytest.fixture
async def executor():
    pool = BlockingExecutor(2)
    yield pool
    await pool.shutdown(1)


async def test_concurrent_queries_are_batched_and_answered_in_order(executor):
    fake = FakeEmbeddings()
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    texts = [f"question number {i}" for i in range(20)]
    got = await asyncio.gather(*(batcher.embed(t) for t in texts))
    assert got == [vector(t) for t in texts]
    assert sum(len(b) for b in fake.batches) == 20
    assert len(fake.batches) < 20  # the first goes alone, the rest wait and go together
    assert max(len(b) for b in fake.batches) > 1


async def test_a_query_asked_again_while_it_is_embedded_is_embedded_once(executor):
    fake = FakeEmbeddings()
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    first = asyncio.ensure_future(batcher.embed("how do I  freeze my card"))
    await asyncio.sleep(0.01)  # under way in the executor
    again = await asyncio.gather(batcher.embed("how do I freeze my card"), first)
    assert again == [vector("how do I  freeze my card")] * 2
    assert fake.batches == [["how do I  freeze my card"]]


async def test_a_shared_query_stays_wanted_while_one_caller_waits(executor):
    fake = FakeEmbeddings(delay=0.5)
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    busy = asyncio.ensure_future(batcher.embed("busy"))
    await asyncio.sleep(0.01)
    quitter = asyncio.ensure_future(batcher.embed("shared"))
    stayer = asyncio.ensure_future(batcher.embed("shared"))
    await asyncio.sleep(0.01)
    quitter.cancel()
    fake.release.set()
    assert await stayer == vector("shared")
    assert await busy == vector("busy")
    assert quitter.cancelled()


async def test_without_batching_each_query_is_its_own_call(executor):
    fake = FakeEmbeddings(delay=0.01)
    batcher = QueryBatcher(fake, executor, enabled=False)  # type: ignore[arg-type]
    texts = [f"q{i}" for i in range(6)]
    assert await asyncio.gather(*(batcher.embed(t) for t in texts)) == [vector(t) for t in texts]
    assert sorted(map(len, fake.batches)) == [1] * 6


async def test_batches_are_capped(executor):
    fake = FakeEmbeddings()
    batcher = QueryBatcher(fake, executor, max_batch=4)  # type: ignore[arg-type]
    await asyncio.gather(*(batcher.embed(f"q{i}") for i in range(13)))
    assert max(len(b) for b in fake.batches) <= 4
    assert sum(len(b) for b in fake.batches) == 13


async def test_cached_queries_never_reach_the_model(executor):
    fake = FakeEmbeddings()
    fake.cache["known"] = [9.0, 9.0]
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    assert await batcher.embed("known") == [9.0, 9.0]
    assert fake.batches == []


async def test_a_failure_reaches_every_waiting_caller_and_the_next_batch_still_runs(executor):
    fake = FakeEmbeddings(fail=True)
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    results = await asyncio.gather(
        *(batcher.embed(f"q{i}") for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    fake.fail = False
    assert await batcher.embed("after") == vector("after")


async def test_a_caller_that_gives_up_does_not_disturb_the_others(executor):
    fake = FakeEmbeddings(delay=0.2)
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    first = asyncio.ensure_future(batcher.embed("first"))
    await asyncio.sleep(0.01)  # "first" is being encoded; these two queue together
    quitter = asyncio.ensure_future(batcher.embed("quitter"))
    stayer = asyncio.ensure_future(batcher.embed("stayer"))
    await asyncio.sleep(0.01)
    quitter.cancel()
    assert await first == vector("first")
    assert await stayer == vector("stayer")
    assert quitter.cancelled()


async def test_texts_asked_together_share_one_model_call(executor):
    fake = FakeEmbeddings()
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    got = await batcher.embed_together(["the whole message", "its question?", "the whole message"])
    assert got == [
        vector("the whole message"),
        vector("its question?"),
        vector("the whole message"),
    ]
    assert fake.batches == [["the whole message", "its question?"]]


async def test_two_branches_of_a_step_asking_at_once_share_one_model_call(executor):
    """One step's two tasks wake together: the first asks for one text (and starts the
    batch), the second for two. All three go in that batch: neither waits for the other."""
    fake = FakeEmbeddings()
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    ready = asyncio.get_running_loop().create_future()

    async def memory() -> list[float]:
        await ready  # like the turn's query, which both branches wait for
        return await batcher.embed("Has a Pro plan")

    async def search() -> list[list[float]]:
        await ready
        return await batcher.embed_together(["can I export my data?", "export?"])

    tasks = [asyncio.create_task(memory()), asyncio.create_task(search())]
    await asyncio.sleep(0)
    ready.set_result(None)
    await asyncio.gather(*tasks)
    assert fake.batches == [["Has a Pro plan", "can I export my data?", "export?"]]


@pytest.mark.parametrize("together", [False, True])
async def test_a_caller_that_gives_up_at_once_leaves_nothing_to_embed(executor, together):
    """``embed`` and ``embed_together`` alike: the last caller leaving before the batch
    leaves cancels its texts; none is embedded and nothing stays counted."""
    fake = FakeEmbeddings()
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    asked = asyncio.ensure_future(
        batcher.embed_together(["one", "two"]) if together else batcher.embed("one")
    )
    await asyncio.sleep(0)  # queued; the batch leaves a loop turn later
    asked.cancel()
    await asyncio.sleep(0.2)
    assert asked.cancelled()
    assert fake.batches == []
    assert batcher._waiting == {} and batcher._pending == {}


async def test_a_text_asked_again_right_after_its_last_caller_gave_up_is_embedded(executor):
    """The given-up future is cancelled at once; a caller who asks in the same moment must
    get a new one, not the cancelled one (which would cancel their turn)."""
    fake = FakeEmbeddings()
    batcher = QueryBatcher(fake, executor)  # type: ignore[arg-type]
    first = asyncio.create_task(batcher.embed_together(["same question"]))
    await asyncio.sleep(0)  # queued, its batch not sent yet
    first.cancel()
    await asyncio.sleep(0)  # the first caller leaves; the old future's callbacks not run yet
    # Awaited directly: it must queue before those callbacks run.
    assert await batcher.embed("same question") == vector("same question")
    assert first.cancelled()
