"""Escalation to a human.

The policy (when), tickets (exactly once) and the outbox that delivers them to
the helpdesk webhook (at least once).
"""

from tools.escalation.policy import REASON_CODES, escalation_reasons
from tools.escalation.tickets import TicketStore, idempotency_key, sign

__all__ = [
    "REASON_CODES",
    "TicketStore",
    "escalation_reasons",
    "idempotency_key",
    "sign",
]
