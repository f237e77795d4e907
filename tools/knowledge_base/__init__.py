"""The knowledge base: ingest, hybrid search and abstention calibration, per tenant.

Chroma is touched only by ``chroma``; the search tool the model calls is ``tool``.
"""

from tools.knowledge_base.chunking import Chunk, chunk_markdown, word_count
from tools.knowledge_base.fusion import RRF_K, bm25_weight, weighted_rrf
from tools.knowledge_base.lexical import LexicalIndex, tokenize
from tools.knowledge_base.loaders import (
    SUPPORTED_SUFFIXES,
    TEXT_SUFFIXES,
    LoadFailure,
    SourceDocument,
    iter_documents,
)
from tools.knowledge_base.service import IngestReport, KnowledgeBase, SearchResult, collection_name
from tools.knowledge_base.tool import create_kb_search_tool

__all__ = [
    "RRF_K",
    "SUPPORTED_SUFFIXES",
    "TEXT_SUFFIXES",
    "Chunk",
    "IngestReport",
    "KnowledgeBase",
    "LexicalIndex",
    "LoadFailure",
    "SearchResult",
    "SourceDocument",
    "bm25_weight",
    "chunk_markdown",
    "collection_name",
    "create_kb_search_tool",
    "iter_documents",
    "tokenize",
    "weighted_rrf",
    "word_count",
]
