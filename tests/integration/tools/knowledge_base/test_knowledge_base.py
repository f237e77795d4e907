"""Real Chroma, the real embedding model, the real sample KB."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from state import Settings
from tests.conftest import SAMPLE_KB, TEST_DATA
from tools.services import create_services

pytestmark = pytest.mark.integration

QUESTIONS = [json.loads(line) for line in (TEST_DATA / "sample_kb_questions.jsonl").open()]


@pytest.fixture
async def sample_services(sample_kb_data, embeddings):
    services = await create_services(
        Settings(_env_file=None, data_dir=sample_kb_data), embeddings=embeddings
    )
    yield services
    await services.aclose()


async def test_every_format_of_the_sample_kb_is_ingested(sample_services):
    stats = await sample_services.kb.stats("default")
    assert stats["documents"] == len([p for p in SAMPLE_KB.rglob("*") if p.is_file()])
    assert stats["chunks"] >= stats["documents"]
    assert 0.2 < stats["calibration"]["threshold"] < 0.6


async def test_search_finds_the_right_article_for_customer_questions(sample_services):
    hits_at_3 = 0
    misses = []
    for case in QUESTIONS:
        result = await sample_services.kb.search(case["question"], "default", k=3)
        ids = [p["doc_id"] for p in result.passages]
        if case["doc_id"] in ids:
            hits_at_3 += 1
        else:
            misses.append((case["question"], case["doc_id"], ids))
    rate = hits_at_3 / len(QUESTIONS)
    assert rate >= 0.85, f"hit@3 {rate:.2f}; misses: {misses}"


async def test_search_results_are_whole_documents_with_their_best_chunk(sample_services):
    result = await sample_services.kb.search(
        "How do I factory reset a Lumora Bulb?", "default", k=5
    )
    ids = [p["doc_id"] for p in result.passages]
    assert len(ids) == len(set(ids)) == 5
    top = result.passages[0]
    assert top["doc_id"] == "troubleshooting/bulb-unresponsive-and-factory-reset.md"
    assert "reset" in top["text"].lower()
    assert result.top_score > result.threshold


async def test_a_large_collection_searches_bm25_off_the_loop_with_the_same_results(
    sample_services, monkeypatch
):
    import tools.knowledge_base.search as search

    questions = [case["question"] for case in QUESTIONS]
    on_the_loop = [await sample_services.kb.search(q, "default", k=5) for q in questions]
    sample_services.embeddings.reset_cache()
    monkeypatch.setattr(search, "INLINE_LEXICAL_CHUNKS", 0)  # as for a large collection
    ran = sample_services.executor.run
    searched_in_threads: list[object] = []

    async def spied(fn, *args, **kwargs):
        searched_in_threads.append(fn)
        return await ran(fn, *args, **kwargs)

    monkeypatch.setattr(sample_services.executor, "run", spied)
    in_a_thread = [await sample_services.kb.search(q, "default", k=5) for q in questions]
    assert len([f for f in searched_in_threads if getattr(f, "__name__", "") == "search"]) == len(
        questions
    )
    assert [r.passages for r in in_a_thread] == [r.passages for r in on_the_loop]
    assert [r.bm25_ranking for r in in_a_thread] == [r.bm25_ranking for r in on_the_loop]


async def test_off_topic_questions_score_below_the_calibrated_threshold(sample_services):
    questions = (TEST_DATA / "out_of_scope_questions.txt").read_text().splitlines()
    below = 0
    for question in filter(None, questions):
        result = await sample_services.kb.search(question, "default")
        below += result.top_score < result.threshold
    assert below / len(questions) >= 0.85


async def test_incremental_ingest_skips_updates_and_removes(tmp_path, embeddings):
    kb_dir = tmp_path / "kb"
    shutil.copytree(SAMPLE_KB / "refunds", kb_dir / "refunds")
    shutil.copytree(SAMPLE_KB / "shipping", kb_dir / "shipping")
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings=embeddings
    )
    try:
        kb = services.kb
        first = await kb.ingest([kb_dir], "acme")
        assert len(first.added) == 9 and not first.failed

        before = embeddings.documents_embedded
        again = await kb.ingest([kb_dir], "acme")
        assert embeddings.documents_embedded == before, "unchanged KB must embed nothing"
        assert len(again.unchanged) == 9 and not (again.added or again.updated or again.removed)

        policy = kb_dir / "refunds" / "refund-policy.md"
        policy.write_text(
            policy.read_text() + "\n\n## Zebra clause\n\nZebras may be returned "
            "within 7 days if they are unhappy.\n"
        )
        (kb_dir / "shipping" / "tracking-your-order.md").unlink()
        changed = await kb.ingest([kb_dir], "acme")
        assert changed.updated == ["refunds/refund-policy.md"]
        assert changed.removed == ["shipping/tracking-your-order.md"]
        assert embeddings.documents_embedded > before

        # The updated document is searchable by its new words (its best chunk is the new
        # section); "return" alone also matches the refund how-to, so rank is not asserted.
        result = await kb.search("Are unhappy zebras covered by the zebra clause?", "acme", k=3)
        found = {p["doc_id"]: p["text"] for p in result.passages}
        assert "Zebra" in found.get("refunds/refund-policy.md", ""), found
        tracking = await kb.search("Where is my parcel? tracking number", "acme", k=10)
        assert "shipping/tracking-your-order.md" not in [p["doc_id"] for p in tracking.passages]
        stats = await kb.stats("acme")
        assert stats["documents"] == 8

        missing = await kb.ingest([tmp_path / "does-not-exist"], "acme")
        assert missing.failed and not missing.removed
        assert (await kb.stats("acme"))["documents"] == 8, "a bad path must not delete anything"
    finally:
        await services.aclose()


async def test_tenants_do_not_see_each_others_knowledge(tmp_path, embeddings):
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings=embeddings
    )
    try:
        secret = tmp_path / "acme"
        secret.mkdir()
        (secret / "vault.md").write_text("# Vault codes\n\nThe acme vault code is 7741.")
        await services.kb.ingest([secret], "acme")
        other = await services.kb.search("acme vault code", "globex")
        assert other.passages == []
        own = await services.kb.search("acme vault code", "acme")
        assert own.passages[0]["doc_id"] == "vault.md"
    finally:
        await services.aclose()


async def test_broken_files_are_reported_and_the_rest_ingested(tmp_path, embeddings):
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "good.md").write_text("# Opening hours\n\nWe are open 9 to 5.")
    (kb_dir / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (kb_dir / "dup.json").write_text(json.dumps({"id": "good.md", "content": "clash"}))
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings=embeddings
    )
    try:
        report = await services.kb.ingest([kb_dir], "t")
        assert report.added == ["good.md"]
        reasons = " ".join(r for _, r in report.failed)
        assert "duplicate id" in reasons
        assert any(Path(s).name == "broken.pdf" for s, _ in report.failed)
    finally:
        await services.aclose()


async def test_a_file_that_breaks_keeps_its_documents(tmp_path, embeddings):
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    records = kb_dir / "fees.json"
    records.write_text(json.dumps({"id": "fees", "title": "Fees", "content": "Wire fee is $25."}))
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings=embeddings
    )
    try:
        assert (await services.kb.ingest([kb_dir], "t")).added == ["fees"]
        records.write_text('{"id": "fees", "title": "Fees", "content": "Wire fee is')  # truncated
        report = await services.kb.ingest([kb_dir], "t")
        assert report.failed and report.removed == []
        result = await services.kb.search("How much is the wire fee?", "t")
        assert result.passages[0]["doc_id"] == "fees"
    finally:
        await services.aclose()


async def test_record_ids_never_leak_into_searchable_text(tmp_path, embeddings):
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "faq.jsonl").write_text(
        json.dumps({"id": "card_arrival--1", "content": "When will my new card come?"}) + "\n"
    )
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings=embeddings
    )
    try:
        await services.kb.ingest([kb_dir], "t")
        result = await services.kb.search("card arrival", "t")
        assert "arrival" not in result.passages[0]["text"].lower()
        assert result.passages[0]["title"] == ""
    finally:
        await services.aclose()


async def test_same_id_from_another_folder_is_a_clash_not_an_update(tmp_path, embeddings):
    for folder, text in (("a", "Opening hours are 9 to 5."), ("b", "Our dog is called Rex.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "faq.md").write_text(f"# FAQ\n\n{text}")
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings=embeddings
    )
    try:
        assert (await services.kb.ingest([tmp_path / "a"], "t")).added == ["faq.md"]
        clash = await services.kb.ingest([tmp_path / "b"], "t")
        assert clash.updated == [] and "already ingested from" in clash.failed[0][1]
        result = await services.kb.search("opening hours", "t")
        assert "9 to 5" in result.passages[0]["text"]
    finally:
        await services.aclose()
