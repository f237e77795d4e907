import json

from tools.knowledge_base.loaders import LoadFailure, SourceDocument, iter_documents


def test_json_records_keep_their_ids(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"id": "doc_1", "title": "One", "content": "x"}))
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"id": "doc_2", "title": "Two", "content": "y", "metadata": {"lang": "en"}})
        + "\n{not json\n"
        + json.dumps({"title": "no id", "content": "z"})
        + "\n"
    )
    items = list(iter_documents(tmp_path))
    docs = {i.doc_id: i for i in items if isinstance(i, SourceDocument)}
    failures = [i for i in items if isinstance(i, LoadFailure)]
    assert set(docs) == {"doc_1", "doc_2"}
    assert docs["doc_2"].metadata == {"lang": "en"}
    assert sorted(f.source.rsplit("#", 1)[1] for f in failures) == ["L2", "L3"]
    assert any("invalid JSON" in f.reason for f in failures)
    assert any("lacks id" in f.reason for f in failures)


def test_files_get_relative_path_ids_and_heading_titles(tmp_path):
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "refunds.md").write_text("# Refund rules\n\nText.")
    (tmp_path / "notes.txt").write_text("plain text")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.md").write_text("# secret")
    items = list(iter_documents(tmp_path))
    docs = {i.doc_id: i for i in items if isinstance(i, SourceDocument)}
    assert set(docs) == {"billing/refunds.md", "notes.txt"}
    assert docs["billing/refunds.md"].title == "Refund rules"
    assert [i.reason for i in items if isinstance(i, LoadFailure)] == ["unsupported file type .png"]


def test_missing_path_is_a_failure_not_an_exception(tmp_path):
    items = list(iter_documents(tmp_path / "nope"))
    assert len(items) == 1 and isinstance(items[0], LoadFailure)


def test_content_hash_changes_with_content():
    a = SourceDocument("d", "t", "one", "s", "r")
    b = SourceDocument("d", "t", "two", "s", "r")
    assert a.content_hash != b.content_hash
    assert a.content_hash == SourceDocument("d", "t", "one", "s", "r").content_hash
