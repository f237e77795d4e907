"""Limits on customers' attachments: what is accepted and how much work one file may cost.

A file is the easiest way to attack the agent (oversized files, decompression
bombs, documents that hang a parser), so every cost has a bound here and every
bound can be set from the environment, e.g. ``SUPPORT_ATTACHMENTS__MAX_BYTES=5000000``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["DOCUMENT_TYPES", "IMAGE_TYPES", "AttachmentLimits"]

DOCUMENT_TYPES = (
    "pdf",
    "docx",
    "xlsx",
    "xls",
    "pptx",
    "html",
    "csv",
    "txt",
    "markdown",
    "json",
    "xml",
    "epub",
    "outlook",
)
"""Detected types converted to Markdown (magika labels; ``outlook`` is an Outlook .msg)."""

IMAGE_TYPES = ("png", "jpeg", "gif", "webp", "bmp", "tiff")
"""Images are accepted and described by their metadata (no OCR engine ships)."""


class AttachmentLimits(BaseModel):
    """Bounds on accepting and converting one attachment."""

    enabled: bool = Field(True, description="Accept attachments at all.")
    max_bytes: int = Field(10_000_000, ge=1, description="Largest file accepted (bytes).")
    max_files_per_message: int = Field(5, ge=1, le=50)
    allowed_types: tuple[str, ...] = Field(
        DOCUMENT_TYPES + IMAGE_TYPES, description="Detected types accepted (JSON list)."
    )
    timeout_s: float = Field(30.0, gt=0, description="Wall-clock limit of one conversion.")
    memory_mb: int = Field(
        1024, ge=128, description="Address space one conversion may add to the preloaded parsers."
    )
    max_pages: int = Field(200, ge=1, description="PDF pages / slides accepted.")
    max_rows: int = Field(
        20_000,
        ge=1,
        description="Spreadsheet / CSV rows accepted (XLSX converts at ~0.5 ms per row).",
    )
    max_uncompressed_mb: int = Field(
        200, ge=1, description="Total uncompressed size of a ZIP-based file (DOCX, XLSX, ...)."
    )
    max_compression_ratio: float = Field(
        100.0, gt=1, description="Uncompressed / compressed size above which a ZIP is a bomb."
    )
    max_archive_entries: int = Field(10_000, ge=1)
    max_markdown_chars: int = Field(
        300_000, ge=1000, description="Converted text kept per file (the rest is cut)."
    )
    max_chunks: int = Field(
        60,
        ge=1,
        description="Chunks of one file made searchable (the rest is not read; the customer "
        "is told): bounds the work a long file costs every other conversation.",
    )
    max_concurrent: int = Field(2, ge=1, le=32, description="Conversions running at once.")
