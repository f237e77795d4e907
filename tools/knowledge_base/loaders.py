"""Read knowledge-base sources into Markdown documents.

Markdown and text are read as they are; ``.json``/``.jsonl`` hold records
``{id, title, content, metadata?}`` whose ids are kept; every other format
markitdown reads (HTML, PDF, DOCX, PPTX, XLSX, CSV, EPUB, ...) is converted
locally, with plugins and URL fetching off. Loading is blocking: call it from
the executor. A bad file is reported, never fatal to the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SUPPORTED_SUFFIXES", "TEXT_SUFFIXES", "LoadFailure", "SourceDocument", "iter_documents"]

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".rst"})
RECORD_SUFFIXES = frozenset({".json", ".jsonl"})
CONVERTED_SUFFIXES = frozenset(
    {
        ".html",
        ".htm",
        ".pdf",
        ".docx",
        ".pptx",
        ".xlsx",
        ".xls",
        ".csv",
        ".epub",
        ".msg",
        ".xml",
        ".ipynb",
    }
)
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | RECORD_SUFFIXES | CONVERTED_SUFFIXES
_BINARY_SUFFIXES = frozenset({".pdf", ".docx", ".pptx", ".xlsx", ".xls", ".epub", ".msg"})
_FIRST_HEADING = re.compile(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class SourceDocument:
    """A knowledge-base document, as Markdown."""

    doc_id: str
    title: str
    content: str
    source: str
    """Where it came from (file path, with ``#line`` for JSONL records)."""
    root: str
    """The path given to ingest, used to detect documents removed from it."""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """SHA-256 over everything that affects the stored chunks."""
        payload = json.dumps(
            [self.doc_id, self.title, self.content, self.source, self.metadata],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class LoadFailure:
    """A source that could not be read, and why."""

    source: str
    reason: str


def iter_documents(path: Path) -> Iterator[SourceDocument | LoadFailure]:
    """Yield the documents under ``path`` (a file or a folder, recursively, sorted)."""
    path = path.expanduser()
    if not path.exists():
        yield LoadFailure(str(path), "no such file or directory")
        return
    root = path.resolve()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    base = root.parent if root.is_file() else root
    for file in files:
        rel = file.relative_to(base)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if file.suffix.lower() not in SUPPORTED_SUFFIXES:
            yield LoadFailure(str(file), f"unsupported file type {file.suffix or '(none)'}")
            continue
        try:
            yield from _load_file(file, rel.as_posix(), str(root))
        except Exception as exc:  # one bad file must not stop the others
            yield LoadFailure(str(file), f"{type(exc).__name__}: {exc}")


def _load_file(file: Path, rel: str, root: str) -> Iterator[SourceDocument | LoadFailure]:
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _record(line, f"{file}#L{number}", root)
    elif suffix == ".json":
        data = json.loads(file.read_text(encoding="utf-8"))
        records = data if isinstance(data, list) else [data]
        for number, item in enumerate(records):
            source = str(file) if len(records) == 1 else f"{file}#{number}"
            yield _record(item, source, root)
    elif suffix in TEXT_SUFFIXES:
        text = file.read_text(encoding="utf-8", errors="replace")
        yield SourceDocument(rel, _title_of(text, file), text, str(file), root)
    else:
        text, title = _convert(file)
        yield SourceDocument(rel, title or _title_of(text, file), text, str(file), root)


def _record(item: str | dict[str, Any], source: str, root: str) -> SourceDocument | LoadFailure:
    try:
        data = json.loads(item) if isinstance(item, str) else item
    except json.JSONDecodeError as exc:
        return LoadFailure(source, f"invalid JSON: {exc.msg}")
    if not isinstance(data, dict):
        return LoadFailure(source, "a record must be an object {id, title, content}")
    missing = [k for k in ("id", "content") if not data.get(k)]
    if missing:
        return LoadFailure(source, f"record lacks {', '.join(missing)}")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        return LoadFailure(source, "metadata must be an object")
    content = str(data["content"])
    # Never fall back to the id: ids are labels, and would leak into every chunk's text.
    match = _FIRST_HEADING.search(content[:2000])
    title = str(data.get("title") or (match.group(1).strip() if match else ""))
    return SourceDocument(str(data["id"]), title, content, source, root, metadata)


def _title_of(text: str, file: Path) -> str:
    match = _FIRST_HEADING.search(text[:2000])
    if match:
        return match.group(1).strip()
    return file.stem.replace("-", " ").replace("_", " ").strip().capitalize()


def _convert(file: Path) -> tuple[str, str | None]:
    from markitdown import MarkItDown

    result = MarkItDown(enable_plugins=False).convert_local(str(file))
    text = (result.text_content or "").strip()
    if not text:
        raise ValueError("no text could be extracted")
    if file.suffix.lower() in _BINARY_SUFFIXES:
        head = file.read_bytes()[:16].decode("latin-1").strip()
        if head and text.startswith(head):
            # markitdown falls back to reading unparseable files as plain text
            raise ValueError(f"not a readable {file.suffix.lower()[1:].upper()} file")
    return text, (result.title or "").strip() or None
