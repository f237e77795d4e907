"""Incremental ingestion: bring a tenant's collection in line with a set of paths.

Exists to load, dedupe, chunk, embed and write documents in batches, and to remove
the ones that are gone, touching only what changed since the last ingest (the
manifest's content hashes say what that is).

It must never run blocking work on the event loop (loading, chunking and embedding go
through the executor, Chroma through ``ChromaCollections``), never delete a document
whose source failed to load, and never delete old chunks before their replacements are
written. Locking, calibration and timing belong to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from state import Settings
from tools.embeddings.sentence import SentenceEmbeddings
from tools.knowledge_base.chroma import ChromaCollections
from tools.knowledge_base.chunking import Chunk, chunk_markdown
from tools.knowledge_base.loaders import LoadFailure, SourceDocument, iter_documents
from tools.knowledge_base.manifest import Manifest
from tools.resilience.executor import BlockingExecutor

__all__ = ["CHUNKER_VERSION", "IngestReport", "Ingester", "ProgressFn"]

ProgressFn = Callable[[int, int], None]
"""Called with (chunks embedded so far, chunks to embed)."""

CHUNKER_VERSION = "md-v1"

_Loaded = list[tuple[str, bool, list[SourceDocument | LoadFailure]]]
_Chunked = list[tuple[SourceDocument, list[Chunk]]]


@dataclass
class IngestReport:
    """What an ingestion did, per document."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": len(self.unchanged),
            "removed": self.removed,
            "failed": [{"source": s, "reason": r} for s, r in self.failed],
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 3),
        }


class Ingester:
    """Adds, updates, skips and removes a tenant's documents (one ingest at a time per tenant)."""

    def __init__(
        self,
        settings: Settings,
        embeddings: SentenceEmbeddings,
        executor: BlockingExecutor,
        chroma: ChromaCollections,
        manifest: Manifest,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.executor = executor
        self.chroma = chroma
        self.manifest = manifest

    async def _embedded_counts(self, tenant_id: str, known: dict[str, Any]) -> dict[str, int]:
        """Chunks the vector store holds per document, when it holds fewer than recorded.

        The manifest lives in the shared database, the vectors in this worker's store: a
        fresh worker or a lost volume has the manifest without the vectors. Then what is
        missing is embedded again instead of being skipped as "unchanged". ``{}`` when the
        counts agree (the usual case: one count, no scan).
        """
        expected = sum(row.chunk_count for row in known.values())
        if not expected or await self.chroma.count(tenant_id) >= expected:
            return {doc_id: row.chunk_count for doc_id, row in known.items()}
        metas = (await self.chroma.get_all(tenant_id, include=["metadatas"]))["metadatas"]
        return dict(Counter(str(m.get("doc_id")) for m in metas))

    async def ingest(
        self, paths: Sequence[Path], tenant_id: str, progress: ProgressFn | None = None
    ) -> IngestReport:
        """Write what changed under ``paths``, drop what is gone, save the manifest."""
        report = IngestReport()
        await self.chroma.open(tenant_id)
        loaded = await self.executor.run(_load_all, list(paths))
        docs, roots_ok = _dedupe(loaded, report)
        known = await self.manifest.known_documents(tenant_id)
        embedded = await self._embedded_counts(tenant_id, known)
        todo: list[SourceDocument] = []
        # Same id from another folder that still exists: a clash, not an update.
        other_roots = {
            known[d.doc_id].root
            for d in docs
            if d.doc_id in known and known[d.doc_id].root != d.root
        }
        existing_roots = {r for r in other_roots if await self.executor.run(os.path.exists, r)}
        for doc in docs:
            row = known.get(doc.doc_id)
            if row is not None and row.root != doc.root and row.root in existing_roots:
                report.failed.append(
                    (doc.source, f"id {doc.doc_id!r} is already ingested from {row.root}")
                )
                continue
            missing = row is not None and embedded.get(doc.doc_id, 0) < row.chunk_count
            if row is not None and row.content_hash == self.doc_hash(doc) and not missing:
                report.unchanged.append(doc.doc_id)
            else:
                todo.append(doc)
                (report.updated if row else report.added).append(doc.doc_id)
        # A source that failed to load keeps its documents: it is broken, not gone.
        failed_files = {_file_of(source) for source, _ in report.failed}
        present = {d.doc_id for d in docs}
        removed = [
            row.doc_id
            for row in known.values()
            if row.root in roots_ok
            and row.doc_id not in present
            and _file_of(row.source) not in failed_files
        ]
        chunked = await self.executor.run(self._chunk_all, todo)
        total = sum(len(c) for _, c in chunked)
        if progress:
            progress(0, total)
        async for done in self._write_chunks(tenant_id, chunked, set(known)):
            report.chunks_embedded = done
            if progress:
                progress(done, total)
        if removed:
            await self.chroma.delete(tenant_id, where={"doc_id": {"$in": removed}})
            report.removed = removed
        await self.manifest.save_ingest(
            tenant_id, [(doc, len(chunks), self.doc_hash(doc)) for doc, chunks in chunked], removed
        )
        return report

    def doc_hash(self, doc: SourceDocument) -> str:
        """The manifest hash: content plus everything that changes its chunks or vectors."""
        tag = f"{doc.content_hash}|{CHUNKER_VERSION}|{self.settings.chunk_tokens}|"
        tag += f"{self.settings.chunk_overlap_tokens}|{self.embeddings.model_path.name}"
        return hashlib.sha256(tag.encode()).hexdigest()

    def _chunk_all(self, docs: list[SourceDocument]) -> _Chunked:
        return [
            (
                doc,
                chunk_markdown(
                    doc.content,
                    doc.title,
                    max_tokens=min(self.settings.chunk_tokens, self.embeddings.max_tokens - 4),
                    overlap_tokens=self.settings.chunk_overlap_tokens,
                    count_tokens=self.embeddings.count_tokens,
                ),
            )
            for doc in docs
        ]

    async def _write_chunks(
        self, tenant_id: str, chunked: _Chunked, known: set[str]
    ) -> AsyncIterator[int]:
        """Embed and add chunks in full batches across documents, then drop replaced versions.

        New chunks are written before old ones are deleted, so a crash never loses a
        document. Yields the number of chunks written so far.
        """
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        replaced: list[tuple[str, str]] = []
        for doc, chunks in chunked:
            version = self.doc_hash(doc)[:12]
            if doc.doc_id in known:
                replaced.append((doc.doc_id, version))
            extra = {
                k: v for k, v in doc.metadata.items() if isinstance(v, str | int | float | bool)
            }
            for c in chunks:
                ids.append(f"{doc.doc_id}::{version}::{c.index}")
                texts.append(c.text)
                metas.append(
                    {
                        **extra,
                        "doc_id": doc.doc_id,
                        "title": doc.title,
                        "source": doc.source,
                        "heading": c.heading,
                        "chunk": c.index,
                        "version": version,
                    }
                )
        # Longest first, so each model batch holds texts of similar length (less padding),
        # and the next batch is embedded while the previous one is written to Chroma.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        ids, texts, metas = (
            [ids[i] for i in order],
            [texts[i] for i in order],
            [metas[i] for i in order],
        )
        batch = max(1, self.settings.embedding_batch_size * 4)
        writing: asyncio.Future[Any] | None = None
        try:
            for start in range(0, len(texts), batch):
                end = min(start + batch, len(texts))
                vectors = await self.executor.run(self.embeddings.embed_documents, texts[start:end])
                if writing is not None:
                    await writing
                    yield start
                writing = asyncio.ensure_future(
                    self.chroma.upsert(
                        tenant_id, ids[start:end], vectors, metas[start:end], texts[start:end]
                    )
                )
            if writing is not None:
                await writing
                writing = None
                yield len(texts)
        finally:
            if writing is not None and not writing.done():  # embedding failed mid-way
                with contextlib.suppress(Exception):
                    await writing
        for doc_id, version in replaced:
            await self.chroma.delete(
                tenant_id, where={"$and": [{"doc_id": doc_id}, {"version": {"$ne": version}}]}
            )


def _dedupe(loaded: _Loaded, report: IngestReport) -> tuple[list[SourceDocument], set[str]]:
    """Documents by id (first one wins; later ones fail) and the roots that loaded."""
    docs: dict[str, SourceDocument] = {}
    roots_ok: set[str] = set()
    for root, exists, items in loaded:
        if items and all(isinstance(i, LoadFailure) for i in items) and not exists:
            report.failed.extend((i.source, i.reason) for i in items if isinstance(i, LoadFailure))
            continue
        roots_ok.add(root)
        for item in items:
            if isinstance(item, LoadFailure):
                report.failed.append((item.source, item.reason))
            elif item.doc_id in docs:
                report.failed.append(
                    (
                        item.source,
                        f"duplicate id {item.doc_id!r} (first: {docs[item.doc_id].source})",
                    )
                )
            else:
                docs[item.doc_id] = item
    return list(docs.values()), roots_ok


def _file_of(source: str) -> str:
    """The file part of a source (``records.jsonl#L3`` -> ``records.jsonl``)."""
    return source.split("#", 1)[0]


def _load_all(paths: list[Path]) -> _Loaded:
    """(root, whether it exists, what it holds) per path; blocking, for the executor."""
    return [
        (str(p.expanduser().resolve()), p.expanduser().exists(), list(iter_documents(p)))
        for p in paths
    ]
