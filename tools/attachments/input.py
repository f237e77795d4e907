"""Files inside a customer's message: found in its content blocks and decoded.

Accepts the shapes clients send today, in ``file``, ``image``, ``audio`` and ``video``
blocks (plus ``image_url`` and ``text-plain``):

* LangChain v1: ``base64`` + ``mime_type``, the name in ``filename`` or ``extras``;
* LangChain v0: ``source_type: "base64"`` + ``data`` + ``mime_type``, the name in
  ``metadata.filename`` (what older agent-chat-ui sent for PDFs);
* agent-chat-ui (``@langchain/core`` JS): ``data`` + ``mimeType``, the name in
  ``metadata.filename`` or ``metadata.name``;
* OpenAI: ``{"type": "file", "file": {"file_data": "data:...;base64,...", "filename"}}``
  and ``image_url`` blocks (or a ``url``) holding a ``data:`` URL.

Files given by URL or by a provider's file id are refused: the agent never fetches
anything on a customer's behalf.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["IncomingFile", "RefusedBlock", "block_label", "split_content"]

_FILE_TYPES = frozenset({"file", "image", "image_url", "audio", "video", "text-plain"})
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+/-]*)(;[\w-]+=[^;,]*)*;base64,(?P<data>.*)$", re.S)
_UNSAFE_NAME = re.compile(r"[^\w .()+,-]")


@dataclass(frozen=True)
class IncomingFile:
    """One decoded file from a message."""

    filename: str
    declared_type: str | None
    data: bytes


@dataclass(frozen=True)
class RefusedBlock:
    """A non-text block that could not be taken as a file, and why (for the customer)."""

    filename: str
    reason: str


def split_content(
    content: Any, max_bytes: int = 10_000_000
) -> tuple[str, list[IncomingFile], list[RefusedBlock]]:
    """The message's text, its decodable files, and the blocks refused.

    A file whose encoded size already exceeds ``max_bytes`` is refused undecoded.
    """
    if isinstance(content, str):
        return content, [], []
    texts: list[str] = []
    files: list[IncomingFile] = []
    refused: list[RefusedBlock] = []
    blocks = content if isinstance(content, list) else [content]
    for number, block in enumerate(blocks, start=1):
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif isinstance(block, dict) and str(block.get("type")) in _FILE_TYPES:
            decoded = _decode(block, number, max_bytes)
            (files if isinstance(decoded, IncomingFile) else refused).append(decoded)  # type: ignore[arg-type]
        else:
            refused.append(RefusedBlock(f"part {number}", "it is not a file or text"))
    return "\n".join(texts), files, refused


def _decode(block: dict[str, Any], number: int, max_bytes: int) -> IncomingFile | RefusedBlock:
    name, mime, payload, linked = _fields(block, number)
    if block.get("type") == "text-plain" and isinstance(block.get("text"), str):
        return IncomingFile(name, mime or "text/plain", block["text"].encode("utf-8", "replace"))
    if payload is None:
        if linked:
            return RefusedBlock(name, "files given by link or file id are not fetched; attach it")
        return RefusedBlock(name, "it carries no file data")
    if len(payload) * 3 // 4 > max_bytes:  # refused before decoding megabytes for nothing
        return RefusedBlock(name, f"it is over the {max_bytes / 1_000_000:.1f} MB limit")
    match = _DATA_URL.match(payload) if payload.startswith("data:") else None
    if match:
        mime = mime or match.group("mime") or None
        payload = match.group("data")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return RefusedBlock(name, "its data is not valid base64")
    return IncomingFile(name, mime, data)


def _fields(block: dict[str, Any], number: int) -> tuple[str, str | None, str | None, bool]:
    """Any shape's (file name, declared MIME type, inline base64 or data URL, links only)."""
    raw_nested = block.get("file")
    nested: dict[str, Any] = raw_nested if isinstance(raw_nested, dict) else {}
    image_url = block.get("image_url")
    urls = [block.get("url"), image_url.get("url") if isinstance(image_url, dict) else image_url]
    inline = [block.get("base64"), nested.get("file_data")]
    if block.get("source_type") in (None, "base64"):  # v0 url/id blocks carry no data
        inline.append(block.get("data"))
    inline += [url for url in urls if isinstance(url, str) and url.startswith("data:")]
    payload = next((item for item in inline if isinstance(item, str) and item), None)
    declared = block.get("mime_type") or block.get("mimeType")
    mime = declared[:128] if isinstance(declared, str) else None  # client-controlled
    ids = (block.get("file_id"), block.get("fileId"), nested.get("file_id"))
    linked = any(urls) or any(ids) or block.get("source_type") in ("url", "id")
    return _filename(block, nested) or f"attachment-{number}", mime, payload, linked


def block_label(block: dict[str, Any]) -> tuple[str, str | None]:
    """(safe file name or "", declared MIME type) of a block, without touching its data."""
    raw_nested = block.get("file")
    nested: dict[str, Any] = raw_nested if isinstance(raw_nested, dict) else {}
    declared = block.get("mime_type") or block.get("mimeType")
    return _filename(block, nested), declared[:128] if isinstance(declared, str) else None


def _filename(block: dict[str, Any], nested: dict[str, Any]) -> str:
    candidates = [block.get("filename"), block.get("name"), nested.get("filename")]
    for holder in (block.get("metadata"), block.get("extras")):
        if isinstance(holder, dict):
            candidates += [holder.get("filename"), holder.get("name")]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            # Names are shown to people and the model: no paths, no markup, bounded.
            base = candidate.replace("\\", "/").rsplit("/", 1)[-1]
            return _UNSAFE_NAME.sub("_", base).strip()[:120] or "attachment"
    return ""
