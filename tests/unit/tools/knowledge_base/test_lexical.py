"""BM25 over chunks: the ranking ``bm25s`` gives, and texts without a searchable word."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from tools.knowledge_base.lexical import LexicalIndex, tokenize

TEXTS = [
    "How to request a refund for an order",
    "Refunds take five to seven business days",
    "Change the email address on your account",
    "Reset your password from the sign-in page",
    "Track your order and its delivery date",
    "Cancel an order before it ships",
]


@pytest.mark.parametrize("k", [1, 3, 6, 40])
@pytest.mark.parametrize("query", ["refund order", "password reset", "order", "delivery days"])
def test_the_ranking_is_bm25s_retrieve_s(query, k):
    index = LexicalIndex(TEXTS)
    reference = bm25s.BM25()
    reference.index([tokenize(t) for t in TEXTS], show_progress=False)
    tokens = [t for t in tokenize(query) if index.idf(t)]
    ids, scores = reference.retrieve([tokens], k=min(k, len(TEXTS)), show_progress=False)
    expected = [
        (int(i), float(s))
        for i, s in zip(np.asarray(ids)[0].tolist(), np.asarray(scores)[0].tolist(), strict=True)
        if s > 0
    ]
    assert index.search(query, k) == expected
    assert index.search(query, k)  # each query matches something


@pytest.mark.parametrize("texts", [[], ["a"], ["the", "a of it"]])
def test_texts_without_a_searchable_word_give_an_empty_index(texts):
    index = LexicalIndex(texts)
    assert index.search("refund a", 5) == []
    assert index.idf("refund") == 0.0
