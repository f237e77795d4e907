"""The evaluation dataset contract (JSONL, one case per line) and its loader.

The contract is the one in the architecture document, plus two extensions:

- ``threads``: a list of conversations (each a list of messages) run one after
  another for the same customer, each in a new thread: memory across threads.
  A case gives ``messages`` or ``threads``, not both.
- ``expected_memories``: strings the final turn's recalled memories must include
  (case-insensitive substring match).

A message is a string, or ``{"text": "...", "attachments": ["files/x.pdf"]}`` with
paths relative to the dataset file, or ``{"role": "assistant", "text": "..."}``: what
the support side already said in a recorded conversation (``role`` defaults to
``user``). A conversation with an assistant message is a transcript: everything before
its last message is imported as the thread's history (not run) and only the last,
which must be the customer's, runs as a turn (``split_history``); a conversation of
customer messages only runs every message. The loader never stops at a bad line: it
returns the valid cases and one ``LoadError`` (line number and reason) per bad
line, so a typo in one case does not hide the results of the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

__all__ = [
    "OUTCOMES",
    "Case",
    "Dataset",
    "LoadError",
    "Message",
    "Role",
    "load_dataset",
    "parse_case",
    "split_history",
    "write_dataset",
]

OUTCOMES = ("answered", "abstained", "escalated")
Role = Literal["user", "assistant"]
_KNOWN = {
    "id",
    "messages",
    "threads",
    "user_id",
    "tenant_id",
    "expected_doc_ids",
    "expected_outcome",
    "expected_memories",
    "reference_answer",
    "metadata",
}


@dataclass(frozen=True)
class Message:
    """One message, with files attached (absolute paths once loaded).

    ``assistant``: a reply the support side already gave in a recorded transcript.
    """

    text: str
    attachments: tuple[Path, ...] = ()
    role: Role = "user"


@dataclass(frozen=True)
class Case:
    """One labelled conversation; labels that are ``None`` are not scored."""

    id: str
    threads: tuple[tuple[Message, ...], ...]
    """Conversations in order; the last message of the last one is the scored turn."""
    user_id: str | None = None
    tenant_id: str | None = None
    expected_doc_ids: tuple[str, ...] | None = None
    expected_outcome: str | None = None
    expected_memories: tuple[str, ...] | None = None
    reference_answer: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def final_message(self) -> Message:
        """The message whose turn is scored."""
        return self.threads[-1][-1]

    def to_json(self, base: Path | None = None) -> dict[str, Any]:
        """The contract form (attachment paths relative to ``base`` when given)."""

        def message(m: Message) -> str | dict[str, Any]:
            if m.role != "user":
                return {"role": m.role, "text": m.text}
            if not m.attachments:
                return m.text
            paths = [str(p.relative_to(base) if base else p) for p in m.attachments]
            return {"text": m.text, "attachments": paths}

        out: dict[str, Any] = {"id": self.id}
        if len(self.threads) == 1:
            out["messages"] = [message(m) for m in self.threads[0]]
        else:
            out["threads"] = [[message(m) for m in t] for t in self.threads]
        for key in ("user_id", "tenant_id", "expected_outcome", "reference_answer"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("expected_doc_ids", "expected_memories"):
            if getattr(self, key) is not None:
                out[key] = list(getattr(self, key))
        if self.metadata:
            out["metadata"] = self.metadata
        return out


@dataclass(frozen=True)
class LoadError:
    """A line that could not be loaded."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Dataset:
    """The valid cases of a file and the errors of the others."""

    path: Path | None
    cases: list[Case]
    errors: list[LoadError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Said once per file: e.g. keys the contract does not know (their cases still load)."""

    @property
    def name(self) -> str:
        """The file's stem (used to name reports and LangSmith datasets)."""
        return self.path.stem if self.path else "dataset"

    def as_dict(self) -> dict[str, Any]:
        """Summary for reports."""
        return {
            "name": self.name,
            "path": str(self.path) if self.path else None,
            "cases": len(self.cases),
            "errors": [asdict(e) for e in self.errors],
            "warnings": list(self.warnings),
        }


class _Invalid(ValueError):
    pass


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"'{key}' must be a list of strings")
    return tuple(value)


def _message(value: Any, base: Path | None, where: str) -> Message:
    role: Any = "user"
    if isinstance(value, str):
        text, attachments = value, []
    elif isinstance(value, dict):
        text = value.get("text", "")
        attachments = value.get("attachments", [])
        role = value.get("role", "user")
        extra = set(value) - {"text", "attachments", "role"}
        if extra:
            raise _Invalid(f"{where}: unknown message keys {sorted(extra)}")
        if not isinstance(text, str):
            raise _Invalid(f"{where}: 'text' must be a string")
        if role not in get_args(Role):
            raise _Invalid(f"{where}: 'role' must be user or assistant, not {role!r}")
        attachments = list(_str_list(attachments, f"{where}.attachments"))
    else:
        raise _Invalid(f"{where}: a message is a string or {{text, attachments, role}}")
    if not text.strip() and not attachments:
        raise _Invalid(f"{where}: empty message")
    if role == "assistant" and attachments:
        raise _Invalid(f"{where}: an assistant message carries no attachments")
    paths = []
    for name in attachments:
        path = Path(name)
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        if not path.is_file():
            raise _Invalid(f"{where}: attachment not found: {name}")
        paths.append(path.resolve())
    return Message(text, tuple(paths), role)


def split_history(
    conversation: Sequence[Message],
) -> tuple[tuple[Message, ...], tuple[Message, ...]]:
    """(history to import, messages to run): a transcript runs only its last message.

    A conversation with any assistant message is a recording: replaying its customer
    turns would make the agent's replies, not the recorded ones, the history.

    >>> history, run = split_history(
    ...     [Message("hi"), Message("hello", role="assistant"), Message("price?")]
    ... )
    >>> [m.text for m in history], [m.text for m in run]
    (['hi', 'hello'], ['price?'])
    >>> split_history([Message("a"), Message("b")])[0]
    ()
    """
    messages = tuple(conversation)
    if any(m.role == "assistant" for m in messages):
        return messages[:-1], messages[-1:]
    return (), messages


def _conversation(value: Any, base: Path | None, where: str) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise _Invalid(f"'{where}' must be a non-empty list of messages")
    messages = tuple(_message(m, base, f"{where}[{i}]") for i, m in enumerate(value))
    if messages[-1].role != "user":
        raise _Invalid(f"'{where}' must end with a user message (the turn that runs)")
    history, _ = split_history(messages)
    if any(m.attachments for m in history):
        raise _Invalid(f"'{where}': in a transcript only the last message may attach files")
    return messages


def parse_case(raw: Any, base: Path | None = None) -> Case:
    """Validate one decoded line; ``ValueError`` says what is wrong."""
    if not isinstance(raw, dict):
        raise _Invalid("a case is a JSON object")
    unknown = sorted(set(raw) - _KNOWN)
    case_id = raw.get("id")
    if not isinstance(case_id, str) or not case_id.strip():
        raise _Invalid("'id' is required and must be a non-empty string")
    has_messages, has_threads = "messages" in raw, "threads" in raw
    if has_messages == has_threads:
        raise _Invalid("give either 'messages' or 'threads'")
    threads: tuple[tuple[Message, ...], ...]
    if has_messages:
        threads = (_conversation(raw["messages"], base, "messages"),)
    else:
        if not isinstance(raw["threads"], list) or not raw["threads"]:
            raise _Invalid("'threads' must be a non-empty list of conversations")
        threads = tuple(
            _conversation(t, base, f"threads[{i}]") for i, t in enumerate(raw["threads"])
        )
    for key in ("user_id", "tenant_id", "reference_answer"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise _Invalid(f"'{key}' must be a string")
    outcome = raw.get("expected_outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise _Invalid(f"'expected_outcome' must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _Invalid("'metadata' must be an object")
    if unknown:  # datasets carry annotations of their own: kept, never scored
        metadata = {**metadata, "unknown_keys": {key: raw[key] for key in unknown}}
    docs = raw.get("expected_doc_ids")
    memories = raw.get("expected_memories")
    return Case(
        id=case_id,
        threads=threads,
        user_id=raw.get("user_id"),
        tenant_id=raw.get("tenant_id"),
        expected_doc_ids=None if docs is None else _str_list(docs, "expected_doc_ids"),
        expected_outcome=outcome,
        expected_memories=None if memories is None else _str_list(memories, "expected_memories"),
        reference_answer=raw.get("reference_answer"),
        metadata=metadata,
    )


def _parse_lines(lines: Iterable[str], base: Path | None) -> Iterator[Case | LoadError]:
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadError(number, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        try:
            case = parse_case(raw, base)
        except _Invalid as exc:
            yield LoadError(number, str(exc))
            continue
        if case.id in seen:
            yield LoadError(number, f"duplicate id {case.id!r}")
            continue
        seen.add(case.id)
        yield case


def load_dataset(source: Path | str | Iterable[str], *, base: Path | None = None) -> Dataset:
    """Load a JSONL file (or lines); bad lines become ``errors``, the rest loads.

    >>> ds = load_dataset(['{"id": "a", "messages": ["hi"]}', '{"id": "b"}', "not json"])
    >>> [c.id for c in ds.cases], [str(e) for e in ds.errors]
    (['a'], ["line 2: give either 'messages' or 'threads'", 'line 3: invalid JSON: Expecting value (column 1)'])
    >>> ds = load_dataset(['{"id": "a", "messages": ["hi"], "turn_label": "x"}'])
    >>> [c.id for c in ds.cases], ds.warnings
    (['a'], ["unknown keys ['turn_label'] (first in case 'a') kept in metadata"])
    """  # noqa: E501
    if isinstance(source, str | Path):
        path = Path(source)
        lines = path.read_text(encoding="utf-8").splitlines()
        cases = list(_parse_lines(lines, base or path.resolve().parent))
    else:
        path = None
        cases = list(_parse_lines(source, base))
    loaded = [c for c in cases if isinstance(c, Case)]
    unknown = sorted({k for c in loaded for k in c.metadata.get("unknown_keys", {})})
    first = next((c.id for c in loaded if "unknown_keys" in c.metadata), "")
    return Dataset(
        path=path,
        cases=loaded,
        errors=[e for e in cases if isinstance(e, LoadError)],
        warnings=(
            [f"unknown keys {unknown} (first in case {first!r}) kept in metadata"]
            if unknown
            else []
        ),
    )


def write_dataset(path: Path, cases: Iterable[Case]) -> int:
    """Write cases as JSONL (attachment paths relative to the file); returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    base = path.resolve().parent
    lines = [json.dumps(c.to_json(base), ensure_ascii=False) for c in cases]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)
