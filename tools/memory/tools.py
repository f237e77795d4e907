"""Memory tools the model can call: remember, recall and forget a memory.

Tenant and user come from the run's context (``ToolRuntime``); the tools take no
identity arguments, so no prompt can read or change another customer's memories.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from state import ANONYMOUS_USER, Context
from tools.identity.context import identity_of
from tools.memory.rules import MemoryCandidate
from tools.memory.store import MemoryStore

__all__ = ["create_memory_tools"]


def _identity(runtime: ToolRuntime[Context]) -> tuple[str, str] | None:
    """(tenant, user) of the run, or None for an anonymous run (never remembered)."""
    context = identity_of(runtime)
    if context.user_id == ANONYMOUS_USER:
        return None
    return context.tenant_id, context.user_id


_ANONYMOUS = "This customer is not identified, so nothing is remembered about them."


def create_memory_tools(store: MemoryStore) -> list[BaseTool]:
    """``remember_about_customer``, ``recall_about_customer``, ``forget_about_customer``."""

    @tool
    async def remember_about_customer(
        fact: str,
        runtime: ToolRuntime[Context],
        kind: Literal["fact", "preference", "issue"] = "fact",
    ) -> str:
        """Save a lasting fact about the customer you are talking to (plan, product, preference).

        Never save passwords, card numbers, codes or ids: they are removed anyway.
        """
        identity = _identity(runtime)
        if identity is None:
            return _ANONYMOUS
        tenant, user = identity
        results = await store.remember(tenant, user, [MemoryCandidate(kind, fact, None, 0.6)])
        result = results[0]
        return f"{result.action}: {result.content}" if result.content else "nothing to save"

    @tool
    async def recall_about_customer(query: str, runtime: ToolRuntime[Context]) -> str:
        """Look up what the customer you are talking to told us before, relevant to ``query``."""
        identity = _identity(runtime)
        if identity is None:
            return _ANONYMOUS
        tenant, user = identity
        memories = await store.recall(tenant, user, query)
        if not memories:
            return "Nothing remembered about this customer for that."
        return "\n".join(f"[{m.id}] ({m.kind}) {m.content}" for m in memories)

    @tool
    async def forget_about_customer(memory_id: int, runtime: ToolRuntime[Context]) -> str:
        """Delete one remembered item (by its [id]) when the customer asks you to forget it."""
        identity = _identity(runtime)
        if identity is None:
            return _ANONYMOUS
        tenant, user = identity
        deleted = await store.forget_memory(tenant, user, memory_id)
        return "forgotten" if deleted else "no such memory for this customer"

    return [remember_about_customer, recall_about_customer, forget_about_customer]
