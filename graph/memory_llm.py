"""Memory extraction in LLM mode: the model fills a typed schema (structured output).

The model proposes; code still redacts, validates kinds and slots, and stores. Any
failure (breaker open, timeout, invalid output) falls back to the deterministic rules.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langgraph.constants import TAG_NOSTREAM
from pydantic import BaseModel, Field

from graph.prompts import MEMORY_EXTRACTION
from tools.memory.rules import MemoryCandidate, extract_memories
from tools.services import Services

__all__ = ["ExtractedMemories", "llm_extract_memories"]

_SLOTS = {"plan", "product", "version", "order", "language", "contact_channel"}


class ExtractedMemory(BaseModel):
    """One lasting fact about the customer."""

    kind: Literal["fact", "preference", "issue"]
    content: str = Field(description="Short third-person statement, e.g. 'On the Pro plan'.")
    slot: Literal["plan", "product", "version", "order", "language", "contact_channel"] | None = (
        None
    )
    importance: float = Field(0.5, ge=0, le=1)


class ExtractedMemories(BaseModel):
    """Everything worth remembering from one customer message (often nothing)."""

    memories: list[ExtractedMemory] = Field(default_factory=list)


async def llm_extract_memories(services: Services, model: Any, text: str) -> list[MemoryCandidate]:
    """Candidates from the model, or from the rules when the model cannot help."""
    if model is None:
        return extract_memories(text)
    try:
        structured = model.with_structured_output(ExtractedMemories)
        prompt = MEMORY_EXTRACTION.format(message=text)
        # Its own breaker: a model that cannot do structured output must not stop answers.
        # Its own deadline, shorter than the memory store's: when the model is slow the
        # rules still run in time, so "I'm on the Pro plan" is kept either way.
        result, _ = await asyncio.wait_for(
            services.resilience.call(
                "model_extraction",
                # internal: never streamed to the customer's client
                lambda: structured.ainvoke(prompt, config={"tags": [TAG_NOSTREAM]}),
                policy=services.resilience.policy("model"),
            ),
            services.settings.memory_extraction_timeout_s,
        )
        extracted = result if isinstance(result, ExtractedMemories) else ExtractedMemories()
    except Exception:
        return extract_memories(text)
    return [
        MemoryCandidate(
            m.kind, m.content.strip()[:300], m.slot if m.slot in _SLOTS else None, m.importance
        )
        for m in extracted.memories
        if m.content.strip()
    ]
