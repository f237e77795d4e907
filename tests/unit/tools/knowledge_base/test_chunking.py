from tools.knowledge_base.chunking import chunk_markdown, word_count

DOC = """# Refunds

Intro paragraph about refunds.

## Window

You can return items within 30 days of delivery.

## Steps

1. Open the app.
2. Tap Orders.
3. Choose Return.

```
# not a heading inside code
```
"""


def test_small_sections_are_packed_and_keep_their_headings():
    chunks = chunk_markdown(DOC, "Refunds", max_tokens=200)
    assert len(chunks) == 1
    text = chunks[0].text
    assert text.startswith("Refunds")
    assert "## Window\nYou can return items within 30 days" in text
    assert "## Steps" in text
    assert "# not a heading inside code" in text


def test_every_chunk_fits_the_budget_and_names_its_section():
    body = "\n\n".join(f"Sentence number {i} explains a detail of the policy." for i in range(80))
    doc = f"# Policy\n\n## Details\n\n{body}\n\n## Contact\n\nWrite to us."
    chunks = chunk_markdown(doc, "Policy", max_tokens=60, overlap_tokens=15)
    assert len(chunks) > 5
    assert all(word_count(c.text) <= 60 for c in chunks)
    detail_chunks = [c for c in chunks if "Sentence number" in c.text]
    assert all(c.text.startswith("Policy > Details") for c in detail_chunks)
    assert "## Contact\nWrite to us." in chunks[-1].text  # packed, heading kept


def test_split_pieces_overlap():
    body = "\n".join(f"Line {i} with several extra words here." for i in range(40))
    chunks = chunk_markdown(f"## Log\n\n{body}", "T", max_tokens=50, overlap_tokens=20)
    first_lines = chunks[0].text.splitlines()
    assert first_lines[-1] in chunks[1].text  # the last line of a piece starts the next one


def test_overlong_single_sentence_is_split_by_words():
    doc = "word " * 500
    chunks = chunk_markdown(doc, "", max_tokens=40)
    assert len(chunks) > 10
    assert all(word_count(c.text) <= 40 for c in chunks)


def test_document_without_body_keeps_its_title():
    assert [c.text for c in chunk_markdown("", "Only a title")] == ["Only a title"]
    assert chunk_markdown("", "") == []


def test_a_line_without_spaces_is_cut_within_the_budget_and_nothing_is_lost():
    row = ",".join(f"value{i}" for i in range(5000))  # a CSV row, one "word"
    chunks = chunk_markdown(row, max_tokens=50, overlap_tokens=0, count_tokens=len)
    assert len(chunks) > 1
    assert all(len(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks) == row


def test_long_text_is_packed_word_by_word_within_the_budget():
    text = " ".join(f"w{i}" for i in range(3000))
    chunks = chunk_markdown(text, max_tokens=60, overlap_tokens=0)
    assert len(chunks) > 1
    assert all(word_count(c.text) <= 60 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == text.split()  # every word, in order
