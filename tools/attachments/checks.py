"""Checks a file passes before any parser sees it: size, type from the bytes, archive bombs.

The type comes from the content (magika), never from the name or the declared
MIME type, so an executable called ``invoice.pdf`` is refused and a PDF called
``notes.docx`` is read as a PDF. ZIP-based formats (DOCX, XLSX, PPTX, EPUB) are
inspected from their central directory, without decompressing anything.
Blocking: call from the executor.
"""

from __future__ import annotations

import io
import threading
import zipfile
from dataclasses import dataclass
from typing import Any

from state.attachment_limits import IMAGE_TYPES, AttachmentLimits

__all__ = ["FileCheck", "check_file", "detect_type"]

_ZIP_TYPES = frozenset({"docx", "xlsx", "pptx", "epub", "zip"})
# magika labels that are plain text in some dialect: read as text.
_TEXT_GROUPS = frozenset({"text", "code"})
_STRUCTURED_TEXT = frozenset({"html", "csv", "json", "xml", "markdown"})
_LABEL_NAMES = {
    "pdf": "PDF",
    "docx": "Word document",
    "xlsx": "Excel workbook",
    "xls": "Excel 97 workbook",
    "pptx": "PowerPoint deck",
    "html": "HTML page",
    "csv": "CSV file",
    "txt": "text file",
    "markdown": "Markdown file",
    "json": "JSON file",
    "xml": "XML file",
    "epub": "EPUB book",
    "outlook": "Outlook message",
}

_magika_lock = threading.Lock()
_magika: Any = None


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one file's bytes."""

    detected_type: str
    """``pdf``, ``docx``, ... ``txt`` for any plain text; ``unknown`` when unrecognised."""
    description: str
    """What the file is, in words (for the customer)."""
    rejection: str | None = None
    """Why it is refused, for the customer; None when accepted."""

    @property
    def is_image(self) -> bool:
        """Images are stored as metadata only."""
        return self.detected_type in IMAGE_TYPES


def detect_type(data: bytes) -> tuple[str, str]:
    """The file's type label and a readable description, from its content."""
    global _magika
    with _magika_lock:
        if _magika is None:
            from magika import Magika

            _magika = Magika()
    output = _magika.identify_bytes(data).output
    label = str(output.label)
    group = str(output.group)
    if label not in _LABEL_NAMES and label not in IMAGE_TYPES and group in _TEXT_GROUPS:
        return "txt", f"text file ({output.description})"
    if label in _LABEL_NAMES:
        return label, _LABEL_NAMES[label]
    return label, str(output.description or label)


def check_file(data: bytes, limits: AttachmentLimits) -> FileCheck:
    """Accept or refuse ``data`` before conversion."""
    size = len(data)
    if size > limits.max_bytes:
        return FileCheck(
            "unchecked",
            f"{size:,} bytes",
            f"it is {_mb(size)}, over the {_mb(limits.max_bytes)} limit",
        )
    if size == 0:
        return FileCheck("empty", "an empty file", "it is empty")
    detected, description = detect_type(data)
    if detected not in limits.allowed_types:
        allowed = ", ".join(sorted({_LABEL_NAMES.get(t, t.upper()) for t in limits.allowed_types}))
        return FileCheck(
            detected,
            description,
            f"it is a {description}, which I can't accept (I accept: {allowed})",
        )
    if detected in _ZIP_TYPES:
        bomb = _archive_problem(data, limits)
        if bomb:
            return FileCheck(detected, description, bomb)
    return FileCheck(detected, description)


def _archive_problem(data: bytes, limits: AttachmentLimits) -> str | None:
    """Why a ZIP container is unsafe to open, judged from its directory alone."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "it is damaged (its ZIP structure cannot be read)"
    if len(entries) > limits.max_archive_entries:
        return f"it holds {len(entries):,} parts, over the {limits.max_archive_entries:,} limit"
    total = sum(max(0, e.file_size) for e in entries)
    if total > limits.max_uncompressed_mb * 1_000_000:
        return (
            f"it expands to {_mb(total)}, over the {limits.max_uncompressed_mb} MB limit "
            "(a possible decompression bomb)"
        )
    for entry in entries:
        ratio = entry.file_size / max(1, entry.compress_size)
        if entry.file_size > 1_000_000 and ratio > limits.max_compression_ratio:
            return (
                f"one of its parts is compressed {ratio:,.0f}:1, over the "
                f"{limits.max_compression_ratio:,.0f}:1 limit (a possible decompression bomb)"
            )
    return None


def _mb(size: int) -> str:
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"
