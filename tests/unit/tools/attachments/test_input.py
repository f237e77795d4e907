"""Finding files in message content blocks, in every shape clients send."""

from __future__ import annotations

import base64

import pytest

from tools.attachments.input import split_content

PDF = b"%PDF-1.4 tiny"
B64 = base64.b64encode(PDF).decode()
PNG = b"\x89PNG\r\n\x1a\n tiny"
PNG64 = base64.b64encode(PNG).decode()


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


def test_agent_chat_ui_camel_case_file_block():
    # agent-chat-ui's fileToContentBlock (@langchain/core JS ContentBlock.Multimodal.Data)
    text, files, refused = split_content(
        [
            {"type": "text", "text": "my invoice"},
            {
                "type": "file",
                "mimeType": "application/pdf",
                "data": B64,
                "metadata": {"filename": "invoice.pdf"},
            },
        ]
    )
    assert text == "my invoice" and not refused
    assert files[0].filename == "invoice.pdf"
    assert files[0].declared_type == "application/pdf" and files[0].data == PDF


def test_agent_chat_ui_camel_case_image_block_named_in_metadata():
    _, files, refused = split_content(
        [
            {
                "type": "image",
                "mimeType": "image/png",
                "data": PNG64,
                "metadata": {"name": "shot.png"},
            }
        ]
    )
    assert not refused
    assert (files[0].filename, files[0].declared_type, files[0].data) == (
        "shot.png",
        "image/png",
        PNG,
    )


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "base64": PNG64, "mime_type": "image/png", "filename": "s.png"},
        {"type": "image", "mime_type": "image/png", "data": PNG64, "extras": {"filename": "s.png"}},
        {"type": "image", "mimeType": "image/png", "base64": PNG64, "name": "s.png"},
        {
            "type": "image",
            "source_type": "base64",
            "mime_type": "image/png",
            "data": PNG64,
            "metadata": {"filename": "s.png"},
        },
        {"type": "image", "url": f"data:image/png;base64,{PNG64}", "filename": "s.png"},
        {"type": "image_url", "image_url": f"data:image/png;base64,{PNG64}", "name": "s.png"},
    ],
    ids=["v1", "data+mime_type", "camel+base64", "v0", "data-url", "image_url-string"],
)
def test_every_image_shape_gives_the_same_file(block):
    _, files, refused = split_content([block])
    assert not refused
    assert (files[0].filename, files[0].declared_type, files[0].data) == (
        "s.png",
        "image/png",
        PNG,
    )


def test_v1_file_block_named_in_extras():
    _, files, _ = split_content(
        [
            {
                "type": "file",
                "base64": B64,
                "mime_type": "application/pdf",
                "extras": {"filename": "c.pdf"},
            }
        ]
    )
    assert files[0].filename == "c.pdf" and files[0].declared_type == "application/pdf"


def test_unknown_and_data_less_blocks_get_a_clear_refusal():
    _, files, refused = split_content(
        [
            {"type": "document", "data": B64},
            {"type": "file", "mimeType": "application/pdf", "metadata": {"filename": "d.pdf"}},
            {"type": "image", "mimeType": "image/png", "data": ""},
            {"type": "file", "source_type": "url", "data": B64},  # a v0 url block: data unused
        ]
    )
    assert not files
    assert [(r.filename, r.reason) for r in refused] == [
        ("part 1", "it is not a file or text"),
        ("d.pdf", "it carries no file data"),
        ("attachment-3", "it carries no file data"),
        ("attachment-4", "files given by link or file id are not fetched; attach it"),
    ]


def test_v0_and_camel_case_file_ids_are_refused_not_fetched():
    _, files, refused = split_content(
        [
            {"type": "file", "source_type": "id", "id": "file-abc"},
            {"type": "file", "fileId": "file-abc", "mimeType": "application/pdf"},
        ]
    )
    assert not files and all("not fetched" in r.reason for r in refused) and len(refused) == 2


def test_oversized_camel_case_file_is_refused_before_decoding():
    _, files, refused = split_content(
        [{"type": "file", "mimeType": "application/pdf", "data": "A" * 400}], max_bytes=100
    )
    assert not files and refused[0].reason.startswith("it is over the")
