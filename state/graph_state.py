"""The graph's state: the conversation plus this turn's working data.

Each field's lifetime is declared here: the fields in ``KEPT_ACROSS_TURNS``
persist for the whole conversation; every other field describes the current
turn and is reset to its default by the ``guard`` node at the start of every
turn (``per_turn_defaults``), so checkpoints do not grow with retrieved passages
and a new field is per-turn unless it is listed here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, make_dataclass
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.channels import DeltaChannel  # beta in langgraph 1.2
from langgraph.graph.message import Messages, add_messages
from typing_extensions import TypedDict  # pydantic builds Studio's schemas from it on 3.11

from state.settings import MessagesStorage

Outcome = Literal["answered", "abstained", "escalated"]
"""How a turn ended."""

Route = Literal["answer", "abstain", "escalate"]
"""Where ``route`` sends a turn (the model's accepted handover also sets ``escalate``)."""


class Passage(TypedDict):
    """One retrieved document, represented by its best-matching chunk."""

    doc_id: str
    title: str
    source: str
    text: str
    score: float
    """Fused relevance score (higher is better; comparable within a turn only)."""
    dense: float
    """Cosine similarity of the best chunk to the query."""
    url: NotRequired[str]
    """The article's page for customers, when the knowledge base has one."""


class RecalledMemoryState(TypedDict):
    """A long-term memory recalled for this turn."""

    id: int
    kind: str
    slot: str | None
    content: str
    score: float


class Citation(TypedDict):
    """A document the answer relies on; always one of the turn's passages."""

    doc_id: str
    title: str
    source: str
    score: float
    url: NotRequired[str]
    """The article's page for customers, when the knowledge base has one."""


def citation_of(passage: Passage) -> Citation:
    """The citation of a passage (what the answer's source list shows)."""
    citation = Citation(
        doc_id=passage["doc_id"],
        title=passage["title"],
        source=passage["source"],
        score=passage["score"],
    )
    if passage.get("url"):
        citation["url"] = passage["url"]
    return citation


def note_degraded(current: str | None, new: str | None) -> str | None:
    """The reducer of ``degraded``: every code reported this turn, once each, in order.

    ``retrieve`` and ``remember`` run side by side and may both report one; a node that
    writes what it read plus its own code adds only its own. ``None`` clears it: the
    guard's reset at the start of a turn (a node with nothing to report writes nothing).

    >>> note_degraded("kb_timeout", "memory_unavailable")
    'kb_timeout,memory_unavailable'
    >>> note_degraded("kb_timeout", "kb_timeout,model_timeout")
    'kb_timeout,model_timeout'
    >>> note_degraded("kb_timeout", None) is None
    True
    """
    if new is None:
        return None
    codes = [c for part in (current, new) if part for c in part.split(",") if c]
    return ",".join(dict.fromkeys(codes)) or None


@dataclass
class SupportState:
    """State of one support conversation."""

    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    """The conversation, oldest first."""
    query: str = ""
    """The search query formed from the conversation for this turn."""
    deadline_at: float = 0.0
    """When this turn must be answered by (epoch seconds; 0: no deadline), set by the guard."""
    passages: list[Passage] = field(default_factory=list)
    """This turn's retrieved documents, best first."""
    top_score: float = 0.0
    """Best cosine similarity between the query and any chunk."""
    threshold: float = 0.0
    """Cosine below which this turn abstains (calibrated for the knowledge base)."""
    confidence: float = 0.0
    """0..1: how likely the knowledge base holds the answer (from ``retrieval_signals``)."""
    answerable: bool = False
    """Whether the search found enough to answer (the abstention decision's input)."""
    retrieval_signals: dict[str, float] = field(default_factory=dict)
    """The evidence behind ``confidence``: dense margin over the threshold, coverage of
    the question's words, dense/BM25 agreement, margin over the next document."""
    memories: list[RecalledMemoryState] = field(default_factory=list)
    """This customer's memories recalled for this turn (data, not instructions)."""
    internal_articles: list[dict[str, Any]] = field(default_factory=list)
    """Staff-only documents that matched this turn (``{doc_id, title, rank}``): never shown
    to the customer, listed on the ticket when the turn escalates."""
    query_terms: dict[str, float] = field(default_factory=dict)
    """IDF of the query's terms in the knowledge base (used to pick answer sentences)."""
    rejection: str | None = None
    """Reason code when the guard refused this turn's input."""
    rejection_reply: str | None = None
    """What to tell the customer about the refused input."""
    kb_error: str | None = None
    """Why the knowledge-base search failed this turn (``timeout``, ``circuit_open``, ...)."""
    escalation_reasons: list[str] = field(default_factory=list)
    """Reason codes that escalate this turn (empty: it does not)."""
    escalation: dict[str, Any] | None = None
    """The thread's open ticket ``{ticket_id, reasons, status}``; kept across turns until a
    human resolves it (while set, customer messages go to the human)."""
    abstain_streak: int = 0
    """Turns in a row that ended without an answer (kept across turns)."""
    route: Route | None = None
    """The routing decision for this turn: ``answer``, ``abstain`` or ``escalate``."""
    outcome: Outcome | None = None
    """How the turn ended."""
    route_reasons: list[str] = field(default_factory=list)
    """Codes explaining the routing decision."""
    citations: list[Citation] = field(default_factory=list)
    """Documents the final answer cites."""
    degraded: Annotated[str | None, note_degraded] = None
    """What ran in a degraded way this turn (``kb_timeout``, ``model_circuit_open``, ...),
    comma-separated."""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    """The thread's attachments ``{id, doc_id, filename, type, status, size_bytes, error}``,
    oldest first; kept across turns (references only: content lives in the attachment table)."""
    received_attachments: list[dict[str, Any]] = field(default_factory=list)
    """Attachments that arrived with this turn's message (same shape)."""
    attachment_notices: list[str] = field(default_factory=list)
    """This turn's files that could not be read, one sentence each for the customer."""
    attachment_passages: int = 0
    """How many of this turn's passages come from the thread's attachments and count."""


@dataclass
class SupportInput:
    """What a client sends a turn: the customer's new message (files ride in its blocks).

    The graph's input schema, so Studio and API clients see the narrow form; everything
    else in ``SupportState`` is the graph's own.
    """

    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    """The new customer message (LangChain message or ``{"role": "user", "content": ...}``)."""


KEPT_ACROSS_TURNS = frozenset({"messages", "escalation", "abstain_streak", "attachments"})
"""Fields that persist across turns; every other field is per-turn."""


def per_turn_defaults() -> dict[str, Any]:
    """Every per-turn field at its default: the update that starts a fresh turn."""
    fresh = asdict(SupportState())
    for name in KEPT_ACROSS_TURNS:
        fresh.pop(name)
    return fresh


def fold_messages(messages: Messages, writes: Sequence[Messages]) -> Messages:
    """``add_messages`` over a batch of writes, one write at a time, as the full channel does.

    The reducer of the ``delta`` conversation channel: LangGraph replays a thread's stored
    writes through it in batches of any size, so it must give the same list however they
    are batched, which a left fold of ``add_messages`` does (ids, replacements by id,
    ``RemoveMessage`` and ``REMOVE_ALL_MESSAGES`` all behave as with ``full``).
    """
    for write in writes:
        messages = add_messages(messages, write)
    return messages


class _MessagesDeltaChannel(DeltaChannel[list[AnyMessage]]):
    """``DeltaChannel`` that tells schemas it holds messages (it keeps only ``list``).

    Without it, Studio and ``get_schemas`` would describe ``messages`` as a list of
    anything with ``delta``; the stored data and the replay are ``DeltaChannel``'s own.
    """

    __slots__ = ()

    @property
    def ValueType(self) -> Any:
        return list[AnyMessage]

    @property
    def UpdateType(self) -> Any:
        return list[AnyMessage]


@functools.cache
def state_schemas(
    storage: MessagesStorage = "full", snapshot_every: int = 100
) -> tuple[type[SupportState], type[SupportInput]]:
    """The graph's state and input schemas for a way of storing the conversation.

    ``full``: ``SupportState`` and ``SupportInput`` (``messages`` reduced by
    ``add_messages``; each new version of the list is stored whole). ``delta``: the same
    classes with ``messages`` on LangGraph's ``DeltaChannel`` (beta), which stores only
    each step's writes and a snapshot of the list every ``snapshot_every`` updates. Same
    field names, types and defaults, so nodes, clients and Studio see no difference; the
    two schemas share one channel, as LangGraph requires of a graph's schemas. Cached: one
    pair of classes per setting, so every graph built with it compares equal.
    """
    if storage == "full":
        return SupportState, SupportInput
    if storage != "delta":
        raise ValueError(f"unknown way of storing messages: {storage!r} (full or delta)")
    channel = _MessagesDeltaChannel(fold_messages, snapshot_frequency=snapshot_every)
    made: list[type[Any]] = []
    for base in (SupportState, SupportInput):
        annotation = Annotated[list[AnyMessage], channel]
        messages: Any = ("messages", annotation, field(default_factory=list))
        cls = make_dataclass(base.__name__, [messages], bases=(base,))
        cls.__module__ = base.__module__
        cls.__doc__ = f"{base.__doc__} (``messages`` stored as deltas.)"
        made.append(cls)
    return made[0], made[1]
