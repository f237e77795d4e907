"""LLM-judged correctness and groundedness, through openevals' LLM-as-judge.

Only with a configured model (the same ``ChatOpenAI`` endpoint as the agent);
otherwise ``create_judge`` returns the reason it is skipped and the report says
so. Correctness compares the final answer with the case's ``reference_answer``;
groundedness checks the answer against the passages the turn retrieved (read
from the thread's checkpoint, the very text the answer was given). A judge
failure is recorded on the case, never raised: it must not lose the run.
"""

from __future__ import annotations

from typing import Any

from state import Settings

__all__ = ["Judge", "create_judge"]


class Judge:
    """Scores one turn with two openevals judges (booleans, with the judge's reasoning)."""

    def __init__(self, model: Any, name: str) -> None:
        from openevals.llm import create_async_llm_as_judge
        from openevals.prompts import CORRECTNESS_PROMPT, RAG_GROUNDEDNESS_PROMPT

        self.name = name
        self._correctness = create_async_llm_as_judge(
            prompt=CORRECTNESS_PROMPT, judge=model, feedback_key="correctness"
        )
        self._groundedness = create_async_llm_as_judge(
            prompt=RAG_GROUNDEDNESS_PROMPT, judge=model, feedback_key="groundedness"
        )

    def describe(self) -> dict[str, Any]:
        """What judged the run (for the report)."""
        return {"judge": "openevals llm-as-judge", "model": self.name}

    async def score(self, agent: Any, case: Any, result: Any) -> dict[str, Any]:
        """``{correctness, groundedness}`` as 1.0 / 0.0 (``None`` when not applicable)."""
        out: dict[str, Any] = {"correctness": None, "groundedness": None}
        question = case.final_message.text
        try:
            if case.reference_answer and result.answer:
                verdict = await self._correctness(
                    inputs=question, outputs=result.answer, reference_outputs=case.reference_answer
                )
                out["correctness"] = float(bool(verdict["score"]))
                out["correctness_comment"] = verdict.get("comment")
            if result.outcome == "answered" and result.answer:
                snapshot = await agent.graph.aget_state(
                    {"configurable": {"thread_id": result.thread_id}}
                )
                passages = (snapshot.values or {}).get("passages") or []
                context = "\n\n".join(f"[{p['doc_id']}] {p['text']}" for p in passages)
                verdict = await self._groundedness(context=context, outputs=result.answer)
                out["groundedness"] = float(bool(verdict["score"]))
                out["groundedness_comment"] = verdict.get("comment")
        except Exception as exc:  # a judge outage costs the judgement, not the run
            out["error"] = f"{type(exc).__name__}: {exc}"
        return out


def create_judge(settings: Settings, model: Any = None) -> tuple[Judge | None, str | None]:
    """The judge for these settings, or ``(None, reason it is skipped)``."""
    if model is None:
        if not settings.llm_enabled:
            return None, "no model configured (SUPPORT_LLM_MODEL unset): LLM-free run"
        from graph.model import create_chat_model

        model = create_chat_model(settings)
    try:
        return Judge(model, settings.llm_model or type(model).__name__), None
    except ImportError as exc:
        return None, f"openevals is not installed ({exc})"
