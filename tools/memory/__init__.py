"""Long-term memory of each customer.

Storage, recall cache, extraction rules, encryption at rest, and the tools the model calls.
"""

from tools.memory.encryption import MemoryCrypto
from tools.memory.rules import SINGLE_VALUED_SLOTS, MemoryCandidate, extract_memories
from tools.memory.store import MemoryStore, RecalledMemory, WriteResult
from tools.memory.tools import create_memory_tools

__all__ = [
    "SINGLE_VALUED_SLOTS",
    "MemoryCandidate",
    "MemoryCrypto",
    "MemoryStore",
    "RecalledMemory",
    "WriteResult",
    "create_memory_tools",
    "extract_memories",
]
