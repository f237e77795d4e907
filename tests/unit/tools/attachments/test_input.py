"""Finding files in message content blocks, in every shape clients send."""

from __future__ import annotations

import base64

from tools.attachments.input import split_content

PDF = b"%PDF-1.4 tiny"
B64 = base64.b64encode(PDF).decode()


def test_plain_text_has_no_files():
    assert split_content("hello") == ("hello", [], [])


def test_langchain_v1_file_block():
    text, files, refused = split_content(
        [
            {"type": "text", "text": "see attached"},
            {"type": "file", "base64": B64, "mime_type": "application/pdf", "filename": "a.pdf"},
        ]
    )
    assert text == "see attached" and not refused
    assert files[0].filename == "a.pdf" and files[0].data == PDF
    assert files[0].declared_type == "application/pdf"


def test_agent_chat_ui_block_with_name_in_metadata():
    _, files, _ = split_content(
        [
            {
                "type": "file",
                "source_type": "base64",
                "mime_type": "application/pdf",
                "data": B64,
                "metadata": {"filename": "invoice.pdf"},
            }
        ]
    )
    assert files[0].filename == "invoice.pdf" and files[0].data == PDF


def test_openai_file_block_and_data_url_image():
    _, files, _ = split_content(
        [
            {
                "type": "file",
                "file": {"filename": "b.pdf", "file_data": f"data:application/pdf;base64,{B64}"},
            },
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}},
        ]
    )
    assert [f.filename for f in files] == ["b.pdf", "attachment-2"]
    assert files[1].declared_type == "image/png" and files[1].data == PDF


def test_links_and_file_ids_are_refused_not_fetched():
    _, files, refused = split_content(
        [
            {"type": "file", "url": "http://169.254.169.254/latest/meta-data", "filename": "x.pdf"},
            {"type": "image", "file_id": "file-123"},
        ]
    )
    assert not files
    assert all("not fetched" in r.reason for r in refused) and len(refused) == 2


def test_bad_base64_is_refused_with_a_reason():
    _, files, refused = split_content([{"type": "file", "base64": "not base64!!", "filename": "x"}])
    assert not files and refused[0].reason == "its data is not valid base64"


def test_file_names_lose_paths_and_markup():
    _, files, _ = split_content(
        [{"type": "file", "base64": B64, "filename": "../../etc/<script>passwd.pdf"}]
    )
    assert files[0].filename == "_script_passwd.pdf"
