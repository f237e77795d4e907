"""The agent's capabilities: knowledge base (ingest + search), embeddings, the executor."""

from tools.chunking import Chunk, chunk_markdown
from tools.embeddings import SentenceEmbeddings, packaged_model_path
from tools.executor import BlockingExecutor, ExecutorClosedError
from tools.fusion import bm25_weight, weighted_rrf
from tools.knowledge_base import IngestReport, KnowledgeBase, SearchResult, collection_name
from tools.loaders import LoadFailure, SourceDocument, iter_documents
from tools.services import LazyServices, Services, create_services

__all__ = [
    "BlockingExecutor",
    "Chunk",
    "ExecutorClosedError",
    "IngestReport",
    "KnowledgeBase",
    "LazyServices",
    "LoadFailure",
    "SearchResult",
    "SentenceEmbeddings",
    "Services",
    "SourceDocument",
    "bm25_weight",
    "chunk_markdown",
    "collection_name",
    "create_services",
    "iter_documents",
    "packaged_model_path",
    "weighted_rrf",
]
