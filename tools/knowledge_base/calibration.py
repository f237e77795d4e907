"""The abstention threshold of a collection, from how high off-topic probes score on it.

Exists because a fixed cosine threshold does not transfer between knowledge bases:
each collection gets its own, set just above what unrelated questions reach.

It must never write anything (the manifest stores the result) and never call Chroma
itself: the probes' nearest-neighbour query goes through ``ChromaCollections``.
"""

from __future__ import annotations

from typing import Any

from tools.embeddings.sentence import SentenceEmbeddings
from tools.knowledge_base._probes import OFF_TOPIC_PROBES
from tools.knowledge_base.chroma import ChromaCollections
from tools.resilience.executor import BlockingExecutor

__all__ = [
    "CALIBRATION_VERSION",
    "FALLBACK_THRESHOLD",
    "MAX_THRESHOLD",
    "PROBE_MARGIN",
    "calibrate",
    "calibration_from",
]

FALLBACK_THRESHOLD = 0.35
"""Threshold of a collection that has no calibration."""
CALIBRATION_VERSION = 2
PROBE_MARGIN = 0.15
"""Above the probes' 90th percentile: real off-topic questions sit nearer the domain than
the probes (CLINC150 out-of-scope vs the tau2 KB: median .225 against the probes' .15)."""
MAX_THRESHOLD = 0.5
"""Cap for general-purpose collections, where the probes themselves are in scope."""


def calibration_from(count: int, distances: list[list[float]] | None = None) -> dict[str, Any]:
    """The calibration record for a collection of ``count`` chunks.

    ``distances`` are the probes' nearest-neighbour cosine distances (one list per probe);
    without chunks there is nothing to measure and the record has no threshold.
    """
    calibration: dict[str, Any] = {
        "version": CALIBRATION_VERSION,
        "probes": len(OFF_TOPIC_PROBES),
        "chunks": count,
    }
    if count and distances is not None:
        scores = sorted(1.0 - d[0] for d in distances if d)
        q90 = scores[int(0.9 * (len(scores) - 1))]
        calibration.update(
            {
                "offtopic_median": round(scores[len(scores) // 2], 4),
                "offtopic_q90": round(q90, 4),
                "offtopic_max": round(scores[-1], 4),
                "threshold": round(min(MAX_THRESHOLD, q90 + PROBE_MARGIN), 4),
            }
        )
    return calibration


async def calibrate(
    chroma: ChromaCollections,
    embeddings: SentenceEmbeddings,
    executor: BlockingExecutor,
    tenant_id: str,
) -> dict[str, Any]:
    """Measure the tenant's collection with the off-topic probes (nothing is stored)."""
    count = await chroma.count(tenant_id)
    if not count:
        return calibration_from(count)
    vectors = await executor.run(embeddings.embed_queries, OFF_TOPIC_PROBES)
    result = await chroma.query(tenant_id, vectors, n_results=1, include=["distances"])
    return calibration_from(count, result["distances"])
