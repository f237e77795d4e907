"""Staff-only articles: never cited, quoted or listed to a customer; on the ticket instead."""

from __future__ import annotations

import json

import pytest

from graph.embedded import open_agent
from state import Settings
from tools.services import create_services

pytestmark = pytest.mark.integration

ARTICLES = [
    {
        "id": "card-replacement",
        "title": "Replacing a lost card",
        "content": "# Replacing a lost card\n\nFreeze the card in the app, then tap Order a "
        "replacement card. The new card arrives in 5 business days.",
    },
    {
        "id": "card-replacement-override",
        "title": "Replacement card fee waivers (Internal)",
        "content": "# Replacement card fee waivers\n\nAgents may waive the replacement card "
        "fee with override code WAIVE-77 when the customer lost the card abroad.",
    },
    {
        "id": "staff-notes",
        "title": "Lost card call script",
        "content": "# Lost card call script\n\nRead the customer the lost card disclaimer "
        "SCRIPT-12 before ordering a replacement card.",
        "metadata": {"audience": "staff"},
    },
]


@pytest.fixture
async def agent(tmp_path, embeddings):
    kb = tmp_path / "kb.jsonl"
    kb.write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n")
    services = await create_services(
        Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings=embeddings
    )
    await services.kb.ingest([kb], "default")
    async with open_agent(services=services) as built:
        yield built
    await services.aclose()


async def test_staff_articles_never_reach_the_customer_and_go_on_the_ticket(agent):
    asked = await agent.ask(
        "Can you waive the replacement card fee? I lost my card abroad.", user_id="ines"
    )
    said = asked.answer + json.dumps(asked.citations)
    assert "WAIVE-77" not in said and "SCRIPT-12" not in said
    assert "(Internal)" not in said and "call script" not in said
    assert {c["doc_id"] for c in asked.citations} <= {"card-replacement"}
    assert "card-replacement-override" in asked.retrieved  # found, scored, not shown

    handed = await agent.ask(
        "I lost my card abroad, please connect me to a human agent about the fee",
        thread_id=asked.thread_id,
        user_id="ines",
    )
    assert handed.outcome == "escalated"
    [ticket] = await agent.services.tickets.list("default")
    assert (
        "Internal articles for staff: Replacement card fee waivers (Internal)"
        in (ticket["summary"])
    )
    # the handover request is readable by the customer's client: no staff articles in it
    snapshot = await agent.graph.aget_state({"configurable": {"thread_id": asked.thread_id}})
    assert "Internal" not in json.dumps(snapshot.interrupts[0].value)


async def test_sources_show_titles_and_pages_never_file_paths(tmp_path, embeddings):
    kb = tmp_path / "help"
    (kb / "cards").mkdir(parents=True)
    (kb / "cards" / "lost-card.md").write_text(
        "# Replacing a lost card\n\nFreeze the card in the app, then tap Order a replacement "
        "card. The new card arrives in 5 business days.\n"
    )
    records = tmp_path / "records.jsonl"
    records.write_text(
        json.dumps(
            {
                "id": "pin-reset",
                "title": "Resetting your card PIN",
                "content": "# Resetting your card PIN\n\nOpen Card settings and tap Reset PIN.",
                "metadata": {"url": "https://bank.example/help/pin"},
            }
        )
        + "\n"
    )
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        kb_url_template="https://help.example.com/{stem}",
    )
    services = await create_services(settings, embeddings=embeddings)
    try:
        await services.kb.ingest([kb, records], "default")
        async with open_agent(services=services) as agent:
            lost = await agent.ask("How do I replace a lost card?", user_id="sol")
            pin = await agent.ask("How do I reset my card PIN?", user_id="sol")
    finally:
        await services.aclose()
    assert "- [1] Replacing a lost card: https://help.example.com/cards/lost-card" in lost.answer
    assert ".md" not in lost.answer.split("Sources:")[1]
    assert "- [1] Resetting your card PIN: https://bank.example/help/pin" in pin.answer
    assert lost.citations[0]["url"] == "https://help.example.com/cards/lost-card"
