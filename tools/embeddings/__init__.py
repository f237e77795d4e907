"""Sentence embeddings from the packaged all-MiniLM-L6-v2, and the query batcher.

Shared by the knowledge base, memory and attachments; never downloads a model.
"""

from tools.embeddings.sentence import QueryBatcher, SentenceEmbeddings, packaged_model_path

__all__ = [
    "QueryBatcher",
    "SentenceEmbeddings",
    "packaged_model_path",
]
