"""The knowledge-base search tool the model can call.

Tenant comes from the run's context (``ToolRuntime``), never from the model's
arguments, so a prompt cannot reach another tenant's articles.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from state import Context
from tools.knowledge_base.service import KnowledgeBase

__all__ = ["create_kb_search_tool"]


def create_kb_search_tool(kb: KnowledgeBase, *, k: int = 5) -> BaseTool:
    """A ``search_knowledge_base`` tool over ``kb``, scoped to the run's tenant."""

    @tool
    async def search_knowledge_base(query: str, runtime: ToolRuntime[Context]) -> str:
        """Search the help centre for articles about the customer's question.

        Use short, specific queries (product, feature, error code). Returns the best
        articles, each with its doc_id (cite it in square brackets) and the relevant text.
        """
        context: Any = runtime.context
        tenant = context.tenant_id if isinstance(context, Context) else Context().tenant_id
        result = await kb.search(query, tenant, k)
        if not result.passages:
            return "No articles found."
        return "\n\n".join(
            f'<article doc_id="{p["doc_id"]}" title="{p["title"]}">\n{p["text"]}\n</article>'
            for p in result.passages
        )

    return search_knowledge_base
