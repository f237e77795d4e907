"""Checks before conversion: size, type from the bytes, decompression bombs."""

from __future__ import annotations

import io
import zipfile

from state import AttachmentLimits
from tools.attachments.checks import check_file

LIMITS = AttachmentLimits()


def _docx_like(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", b'<?xml version="1.0"?><Relationships/>')
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_oversized_file_is_refused_before_it_is_inspected():
    verdict = check_file(b"x" * 2_000, LIMITS.model_copy(update={"max_bytes": 1_000}))
    assert verdict.rejection == "it is 2.0 KB, over the 1.0 KB limit"
    assert verdict.detected_type == "unchecked"


def test_an_executable_named_like_a_pdf_is_refused():
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(range(256)) * 8
    verdict = check_file(elf, LIMITS)
    assert verdict.rejection and "can't accept" in verdict.rejection
    assert verdict.detected_type not in LIMITS.allowed_types


def test_type_comes_from_the_bytes_not_the_name(shared_data):
    pdf = (shared_data / "attachments/markitdown/test.pdf").read_bytes()
    verdict = check_file(pdf, LIMITS)  # whatever the customer called it
    assert verdict.detected_type == "pdf" and verdict.rejection is None


def test_a_docx_zip_bomb_is_refused_from_its_directory():
    bomb = _docx_like({"word/document.xml": b"\x00" * 300_000_000})
    assert len(bomb) < 1_000_000
    verdict = check_file(bomb, LIMITS)
    assert verdict.rejection and "decompression bomb" in verdict.rejection


def test_a_highly_compressed_part_is_refused_even_under_the_total():
    bomb = _docx_like({"word/document.xml": b"A" * 50_000_000})
    verdict = check_file(bomb, LIMITS)
    assert verdict.rejection and "compressed" in verdict.rejection


def test_an_empty_file_is_refused():
    assert check_file(b"", LIMITS).rejection == "it is empty"


def test_images_are_accepted_as_metadata_only():
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02"
        b"\x00\x00\x00\x90\x91h6\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
        b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    verdict = check_file(png, LIMITS)
    assert verdict.rejection is None and verdict.is_image
