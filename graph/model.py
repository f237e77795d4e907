"""The chat model: any OpenAI-compatible endpoint through ``ChatOpenAI``.

Returns None when no model is configured: the graph then answers in LLM-free
mode. The client's own retries are bounded and it has a timeout, so a hung
endpoint costs one turn a bounded delay before the LLM-free fallback answers.
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
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
    )
