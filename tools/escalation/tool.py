"""The tool the model calls to hand the conversation to a human.

The model proposes; the tenant's escalation policy decides. When the policy
accepts, the tool's ``Command`` sets this turn's route to ``escalate`` and the
graph creates the ticket (idempotent) and waits for a human; when it refuses,
the model is told to answer from the articles instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command

from state import Context, EscalationPolicy
from tools.identity.context import identity_of

__all__ = ["MODEL_PROPOSED", "create_escalation_tool"]

MODEL_PROPOSED = "model_proposed"
"""Reason code of a handover the model asked for."""

_ACCEPTED = "A human support agent will take over this conversation. Do not answer it yourself."
_REFUSED = (
    "Handing over is not available for this request. Answer from the articles you have, "
    "or say plainly that you cannot help and what the customer can do next."
)


def create_escalation_tool(policy_of: Callable[[str], EscalationPolicy]) -> BaseTool:
    """An ``escalate_to_human`` tool; ``policy_of(tenant)`` is that tenant's policy."""

    @tool
    async def escalate_to_human(reason: str, runtime: ToolRuntime[Context]) -> Any:
        """Hand this conversation to a human support agent.

        Use it when the customer insists on a person, when you cannot help with what they
        need, or when it involves fraud, security, legal or safety matters. Do not use it
        for questions the articles answer. ``reason``: one short sentence, why.
        """
        policy = policy_of(identity_of(runtime).tenant_id)
        if MODEL_PROPOSED not in policy.enabled_reasons:
            return _REFUSED
        message = ToolMessage(
            _ACCEPTED,
            tool_call_id=runtime.tool_call_id or "",
            name="escalate_to_human",
            artifact={"reason": reason[:200]},
        )
        return Command(
            update={
                "messages": [message],
                "route": "escalate",
                "route_reasons": [MODEL_PROPOSED],
                "escalation_reasons": [MODEL_PROPOSED],
            }
        )

    return escalate_to_human
