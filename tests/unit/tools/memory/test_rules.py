from tools.memory import MemoryCrypto
from tools.memory.encryption import normalise
from tools.memory.rules import extract_memories
from tools.memory.writes import same_values
from tools.redaction.secrets import RedactingFilter, contains_secret, redact


def contents(text):
    return [(c.kind, c.slot, c.content) for c in extract_memories(text)]


def test_plan_statements_fill_the_plan_slot():
    assert ("fact", "plan", "On the Basic plan") in contents("Hi, I'm on the Basic plan.")
    assert ("fact", "plan", "On the Pro plan") in contents("I upgraded to Pro last week")
    assert ("fact", "plan", "On the Plus plan") in contents("my plan is plus")


def test_products_versions_orders_language_and_channel():
    found = contents(
        "My Lumora Hub runs firmware 2.4.1. Order LH-20391 is late. Please reply in Spanish, "
        "and contact me by email."
    )
    assert ("fact", "product", "Has a Lumora Hub (version 2.4.1)") in found
    assert ("fact", "order", "Order LH-20391") in found
    assert ("preference", "language", "Prefers Spanish") in found
    assert ("preference", "contact_channel", "Prefers contact by email") in found


def test_stated_problems_are_issues_but_questions_are_not():
    assert ("issue", None, "Problem: My Lumora Cam keeps going offline.") in contents(
        "My Lumora Cam keeps going offline."
    )
    assert contents("How do I reset my password?") == []
    assert contents("What does error E-104 mean?") == []


def test_secrets_are_redacted():
    text = (
        "card 4111 1111 1111 1111, password is hunter22, the code is 482913, "
        "SSN 123-45-6789, IBAN GB29 NWBK 6016 1331 9268 19, key sk-abcdefghijklmnopqrstuv"
    )
    cleaned = redact(text)
    for secret in ("4111", "hunter22", "482913", "123-45-6789", "GB29", "sk-abcdef"):
        assert secret not in cleaned
    assert contains_secret(text)


def test_useful_numbers_are_not_mistaken_for_secrets():
    for text in (
        "order LH-20391",
        "error code E-104",
        "firmware 2.4.1",
        "call me at 9am",
        "order 123456789",
    ):
        assert redact(text) == text


def test_log_records_are_redacted():
    import logging

    record = logging.LogRecord("x", logging.INFO, "f", 1, "pw: %s", ("hunter22",), None)
    assert RedactingFilter().filter(record)
    assert "hunter22" not in record.getMessage()


def test_hash_ignores_case_and_punctuation_and_is_keyed_with_a_key():
    from cryptography.fernet import Fernet

    plain = MemoryCrypto(None)
    assert plain.digest("On the Pro plan!") == plain.digest("on the pro plan")
    assert normalise("On the  Pro-plan!") == "on the pro-plan"
    keyed = MemoryCrypto(Fernet.generate_key().decode())
    assert keyed.digest("on the pro plan") != plain.digest("on the pro plan")


def test_value_guard_separates_codes():
    assert not same_values("error E-104", "error E-107")
    assert same_values("likes apples", "prefers apples")
