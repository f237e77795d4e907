"""The chat model: any OpenAI-compatible endpoint through ``ChatOpenAI``.

Returns None when no model is configured: the graph then answers in LLM-free
mode. The client's own retries are off: the resilience layer retries (honouring
Retry-After) and trips the model's circuit breaker.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from state import Settings

__all__ = ["create_chat_model"]


def create_chat_model(settings: Settings) -> BaseChatModel | None:
    """A ``ChatOpenAI`` for the configured endpoint, or None in LLM-free mode."""
    if not settings.llm_enabled:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.llm_model or "",
        api_key=settings.openai_api_key or SecretStr("not-needed"),
        base_url=settings.openai_base_url,
        # Timeouts, retries and the breaker are the resilience layer's job (policies.model).
        timeout=settings.policies.model.timeout_s,
        max_retries=0,
        temperature=settings.llm_temperature,
    )
