"""Markdown-aware chunking sized for the embedding model's window.

Sections stay with their headings: every chunk starts with the document title
and the heading path of its first section, so a chunk read alone still says
what it is about. Small neighbouring sections are packed together; a section
larger than the budget is split at paragraph, then line, then sentence, then
word boundaries, with a small overlap between its pieces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Chunk", "chunk_markdown", "word_count"]

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")

TokenCounter = Callable[[str], int]


def word_count(text: str) -> int:
    """A crude token estimate (words x 1.3), for when no tokenizer is at hand."""
    return int(len(text.split()) * 1.3) + 1


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, small enough to embed whole."""

    index: int
    text: str
    heading: str
    """Heading path of the chunk's first section ("Billing > Refunds")."""


@dataclass
class _Section:
    path: list[str]
    heading_line: str
    body: str


def _sections(markdown: str) -> list[_Section]:
    sections: list[_Section] = []
    path: list[tuple[int, str]] = []
    current = _Section([], "", "")
    lines: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            current.body = "\n".join(lines).strip()
            sections.append(current)
            level, title = len(match.group(1)), match.group(2).strip()
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
            current = _Section([t for _, t in path], line.strip(), "")
            lines = []
        else:
            lines.append(line)
    current.body = "\n".join(lines).strip()
    sections.append(current)
    return [s for s in sections if s.body or s.heading_line]


def _split_units(text: str, budget: int, count: TokenCounter) -> list[str]:
    """Split ``text`` into pieces each within ``budget`` tokens, at the coarsest boundary."""
    if count(text) <= budget:
        return [text]
    for splitter in (re.compile(r"\n\s*\n"), re.compile(r"\n"), _SENTENCE_END):
        parts = [p.strip() for p in splitter.split(text) if p.strip()]
        if len(parts) > 1:
            out: list[str] = []
            for part in parts:
                out.extend(_split_units(part, budget, count))
            return out
    # Each word counted once (word pieces of space-separated words add up), not the growing
    # piece again after every word: that was quadratic in the length of a long line.
    packed: list[str] = []
    piece: list[str] = []
    used = 0
    for word in text.split():
        tokens = count(word)
        if tokens > budget:  # one "word" longer than a chunk (a CSV row without spaces)
            if piece:
                packed.append(" ".join(piece))
                piece, used = [], 0
            packed.extend(_cut(word, budget, count))
            continue
        if piece and used + tokens > budget:
            packed.append(" ".join(piece))
            piece, used = [], 0
        piece.append(word)
        used += tokens
    if piece:
        packed.append(" ".join(piece))
    return packed


def _cut(word: str, budget: int, count: TokenCounter) -> list[str]:
    """Cut a run of characters without spaces into pieces within ``budget`` tokens.

    >>> _cut("a" * 10, 2, lambda t: len(t))
    ['aa', 'aa', 'aa', 'aa', 'aa']
    """
    pieces: list[str] = []
    start = 0
    while start < len(word):
        part = word[start : start + budget * 4]  # a word piece is rarely under 1 character
        while len(part) > 1 and count(part) > budget:
            part = part[: len(part) * 3 // 4]
        pieces.append(part)
        start += len(part)
    return pieces


def _overlap_tail(units: list[str], overlap: int, count: TokenCounter) -> list[str]:
    tail: list[str] = []
    for unit in reversed(units):
        if count(" ".join([unit, *tail])) > overlap:
            break
        tail.insert(0, unit)
    return tail


def chunk_markdown(
    markdown: str,
    title: str = "",
    *,
    max_tokens: int = 220,
    overlap_tokens: int = 32,
    count_tokens: TokenCounter = word_count,
) -> list[Chunk]:
    """Split a Markdown document into heading-prefixed chunks of at most ``max_tokens``."""
    title = title.strip()
    chunks: list[Chunk] = []

    def prefix_for(section: _Section) -> str:
        heads = [h for h in section.path if h != title]
        head = " > ".join([title, *heads] if title else heads)
        return head

    def emit(prefix: str, body: str, heading: str) -> None:
        text = f"{prefix}\n\n{body}".strip() if prefix else body.strip()
        if text:
            chunks.append(Chunk(len(chunks), text, heading))

    pending: list[str] = []
    pending_prefix = ""
    pending_heading = ""

    def flush() -> None:
        nonlocal pending
        if pending:
            emit(pending_prefix, "\n\n".join(pending), pending_heading)
        pending = []

    for section in _sections(markdown):
        prefix = prefix_for(section) if not pending else pending_prefix
        rendered = (
            f"{section.heading_line}\n{section.body}".strip()
            if pending and section.heading_line
            else section.body
        )
        if not rendered:
            continue
        candidate = "\n\n".join([*pending, rendered])
        if count_tokens(f"{prefix}\n\n{candidate}") <= max_tokens:
            if not pending:
                pending_prefix, pending_heading = prefix, " > ".join(section.path)
            pending.append(rendered)
            continue
        flush()
        prefix = prefix_for(section)
        heading = " > ".join(section.path)
        budget = max(16, max_tokens - count_tokens(prefix) - 2)
        if count_tokens(section.body) <= budget:
            pending_prefix, pending_heading, pending = prefix, heading, [section.body]
            continue
        units = _split_units(section.body, budget, count_tokens)
        piece: list[str] = []
        for unit in units:
            if piece and count_tokens("\n".join([*piece, unit])) > budget:
                emit(prefix, "\n".join(piece), heading)
                piece = _overlap_tail(piece, overlap_tokens, count_tokens)
                if piece and count_tokens("\n".join([*piece, unit])) > budget:
                    piece = []
            piece.append(unit)
        if piece:
            pending_prefix, pending_heading, pending = prefix, heading, ["\n".join(piece)]
    flush()
    if not chunks and title:
        emit("", title, title)
    return chunks
