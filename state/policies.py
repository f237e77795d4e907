"""Resilience policies: timeout, retries and circuit breaker settings per tool and the model.

Defaults live here, one row per dependency; every value can be overridden from the
environment, e.g. ``SUPPORT_POLICIES__MODEL__TIMEOUT_S=20``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["PoliciesSettings", "ResiliencePolicy"]


class ResiliencePolicy(BaseModel):
    """How one dependency is called."""

    timeout_s: float = Field(10.0, gt=0, description="Per attempt (asyncio timeout).")
    max_attempts: int = Field(3, ge=1, le=10, description="1 = no retries.")
    backoff_initial_s: float = Field(0.2, ge=0, description="First retry delay (exponential).")
    backoff_max_s: float = Field(5.0, ge=0, description="Cap of one retry delay (and Retry-After).")
    breaker_fail_max: int = Field(5, ge=1, description="Failures that open the circuit.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Open time before a trial call.")
    probe_timeout_s: float = Field(
        3.0,
        gt=0,
        description="Timeout of the trial call of an open breaker: a customer whose turn "
        "probes a dependency that may still be down never waits its full timeout.",
    )
    idempotent: bool = Field(True, description="Writes without an idempotency key: False.")


class PoliciesSettings(BaseModel):
    """The policy of every dependency (a README table documents these defaults)."""

    kb_search: ResiliencePolicy = ResiliencePolicy(timeout_s=5.0, max_attempts=2)
    kb_ingest: ResiliencePolicy = ResiliencePolicy(
        timeout_s=600.0, max_attempts=1, breaker_fail_max=3
    )
    memory: ResiliencePolicy = ResiliencePolicy(timeout_s=5.0, max_attempts=2, idempotent=False)
    webhook: ResiliencePolicy = ResiliencePolicy(
        timeout_s=10.0, max_attempts=3, breaker_fail_max=3, breaker_reset_s=60.0
    )
    memory_store: ResiliencePolicy = ResiliencePolicy(
        timeout_s=5.0, max_attempts=1, idempotent=False
    )
    attachments: ResiliencePolicy = ResiliencePolicy(timeout_s=5.0, max_attempts=2)
    escalation: ResiliencePolicy = ResiliencePolicy(timeout_s=5.0, max_attempts=1)
    model: ResiliencePolicy = ResiliencePolicy(
        timeout_s=30.0,
        max_attempts=3,
        backoff_initial_s=0.5,
        backoff_max_s=10.0,
        breaker_fail_max=5,
        breaker_reset_s=30.0,
    )

    def for_tool(self, name: str) -> ResiliencePolicy:
        """The policy named ``name``, or a conservative default for unknown tools."""
        policy = getattr(self, name, None)
        return policy if isinstance(policy, ResiliencePolicy) else ResiliencePolicy()


ALL_ESCALATION_REASONS = (
    "human_requested",
    "not_helpful",
    "fraud",
    "security",
    "legal",
    "account_closure",
    "chargeback",
    "safety",
    "frustration",
    "complaint",
    "repeated_failure",
    "model_proposed",
)


class EscalationPolicy(BaseModel):
    """When a tenant's conversations go to a human."""

    enabled_reasons: list[str] = Field(
        default_factory=lambda: list(ALL_ESCALATION_REASONS),
        description="Reason codes that escalate (drop one to stop escalating for it).",
    )
    abstentions_before_escalation: int = Field(
        3, ge=1, description="Unanswered turns in a row after which a human takes over."
    )
    tickets_per_hour: int = Field(
        3,
        ge=1,
        description="New tickets one customer may open in an hour; beyond it the reply "
        "points to the ticket already open (spam and loops never flood the helpdesk).",
    )
