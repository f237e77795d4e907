"""Every metric on small hand-computed examples, edge cases included."""

import math

import pytest

from evaluations.metrics import (
    abstention_separation,
    auroc,
    citation_validity,
    confusion_matrix,
    content_f1,
    escalation_scores,
    false_abstention_at,
    hit_at_k,
    mean,
    memory_recall,
    outcome_accuracy,
    pass_hat_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
    retrieval_scores,
    token_f1,
)

RETRIEVED = ["d1", "d2", "d3", "d4", "d5", "d6"]


def test_hit_at_k():
    assert hit_at_k(RETRIEVED, {"d3"}, 1) == 0.0
    assert hit_at_k(RETRIEVED, {"d3"}, 3) == 1.0
    assert hit_at_k(RETRIEVED, {"d1", "zz"}, 1) == 1.0
    assert hit_at_k(RETRIEVED, {"zz"}, 10) == 0.0


def test_recall_at_k():
    gold = {"d2", "d5", "d9", "d10"}
    assert recall_at_k(RETRIEVED, gold, 1) == 0.0
    assert recall_at_k(RETRIEVED, gold, 2) == 0.25
    assert recall_at_k(RETRIEVED, gold, 5) == 0.5
    # duplicates in the gold list count once
    assert recall_at_k(RETRIEVED, ["d2", "d2"], 5) == 1.0


def test_reciprocal_rank():
    assert reciprocal_rank(RETRIEVED, {"d1"}) == 1.0
    assert reciprocal_rank(RETRIEVED, {"d4", "d6"}) == 0.25
    assert reciprocal_rank(RETRIEVED, {"d6"}, k=5) == 0.0
    assert reciprocal_rank(RETRIEVED, {"zz"}) == 0.0


def test_no_gold_documents_is_not_scored():
    for metric in (hit_at_k, recall_at_k):
        assert metric(RETRIEVED, [], 5) is None
    assert reciprocal_rank(RETRIEVED, []) is None
    scores = retrieval_scores([(RETRIEVED, None), (RETRIEVED, [])])
    assert scores["n"] == 0 and scores["hit@5"] is None and scores["mrr"] is None


def test_k_larger_than_results_looks_at_all_of_them():
    assert hit_at_k(["a", "b"], {"b"}, 10) == 1.0
    assert recall_at_k(["a", "b"], {"b", "c"}, 10) == 0.5
    assert reciprocal_rank(["a", "b"], {"b"}, k=10) == 0.5
    assert hit_at_k([], {"b"}, 10) == 0.0


def test_retrieval_scores_average_only_labelled_cases():
    scores = retrieval_scores(
        [(["a", "b", "c"], ["c"]), (["x", "y"], ["x", "z"]), (["q"], None)], ks=(1, 5)
    )
    assert scores["n"] == 2
    assert scores["hit@1"] == 0.5  # (0 + 1) / 2
    assert scores["hit@5"] == 1.0
    assert scores["recall@5"] == 0.75  # (1 + 0.5) / 2
    assert scores["mrr"] == pytest.approx((1 / 3 + 1) / 2)


def test_outcome_accuracy_and_confusion_matrix():
    pairs = [
        ("answered", "answered"),
        ("answered", "abstained"),
        ("escalated", "escalated"),
        ("abstained", "answered"),
        (None, "escalated"),
    ]
    assert outcome_accuracy(pairs) == 0.5
    matrix = confusion_matrix(pairs, ["answered", "abstained", "escalated"])
    assert matrix["answered"] == {"answered": 1, "abstained": 1, "escalated": 0}
    assert matrix["abstained"] == {"answered": 1, "abstained": 0, "escalated": 0}
    assert matrix["escalated"]["escalated"] == 1
    assert sum(sum(row.values()) for row in matrix.values()) == 4  # unlabelled left out
    assert outcome_accuracy([(None, "answered")]) is None


def test_confusion_matrix_gives_errors_a_column():
    matrix = confusion_matrix([("answered", "error")], ["answered", "abstained"])
    assert matrix["answered"]["error"] == 1 and matrix["abstained"]["error"] == 0


def test_all_abstain():
    pairs = [("answered", "abstained"), ("escalated", "abstained"), ("abstained", "abstained")]
    assert outcome_accuracy(pairs) == pytest.approx(1 / 3)
    scores = escalation_scores(pairs)
    assert scores["precision"] is None  # nothing escalated: precision undefined
    assert scores["recall"] == 0.0
    assert scores["f1"] == 0.0
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (0, 0, 1, 2)


def test_escalation_scores_hand_computed():
    pairs = [
        ("escalated", "escalated"),
        ("escalated", "escalated"),
        ("escalated", "answered"),
        ("answered", "escalated"),
        ("answered", "answered"),
        ("abstained", "answered"),
        (None, "escalated"),
    ]
    s = escalation_scores(pairs)
    assert (s["tp"], s["fp"], s["fn"], s["tn"], s["n"]) == (2, 1, 1, 2, 6)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 / 3)
    nothing = escalation_scores([("answered", "answered")])
    assert nothing["precision"] is None and nothing["recall"] is None and nothing["f1"] is None


def test_citation_validity():
    assert citation_validity(["a", "b"], ["b", "a", "c"]) == 1.0
    assert citation_validity(["a", "z"], ["a"]) == 0.0
    assert citation_validity([], ["a"]) is None


def test_memory_recall():
    memories = ["On the Pro plan", "Has a Lumora Cam (version 3.2.1)"]
    assert memory_recall(["pro plan", "lumora cam"], memories) == 1.0
    assert memory_recall(["pro plan", "spanish", "email", "3.2.1"], memories) == 0.5
    assert memory_recall(["anything"], []) == 0.0
    assert memory_recall([], memories) is None and memory_recall(None, memories) is None


def test_percentile():
    values = [100, 10, 40, 20, 30]  # sorted: 10 20 30 40 100
    assert percentile(values, 50) == 30
    assert percentile(values, 95) == pytest.approx(40 + 0.8 * 60)  # position 3.8
    assert percentile([7], 95) == 7
    assert percentile([], 50) is None


def test_pass_hat_k_follows_tau2():
    # 3 cases, 4 trials each: 4, 2 and 0 successes
    trials = [(4, 4), (4, 2), (4, 0)]
    assert pass_hat_k(trials, 1) == pytest.approx((1 + 0.5 + 0) / 3)
    assert pass_hat_k(trials, 2) == pytest.approx((1 + 1 / 6 + 0) / 3)
    assert pass_hat_k(trials, 3) == pytest.approx(1 / 3)  # C(2,3) = 0
    assert pass_hat_k(trials, 4) == pytest.approx(1 / 3)
    # more trials than the case has: not scored
    assert pass_hat_k(trials, 5) is None
    assert pass_hat_k([(5, 3)], 2) == pytest.approx(math.comb(3, 2) / math.comb(5, 2))


def test_mean_ignores_missing():
    assert mean([1.0, None, 0.0]) == 0.5
    assert mean([None]) is None


def test_auroc_counts_pairs_ties_half():
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0  # perfect separation
    assert auroc([0.1], [0.9]) == 0.0
    assert auroc([0.5], [0.5]) == 0.5  # a tie counts half
    # pairs (p > n): .9 beats both, .8 beats .1 and ties .8: (2 + 1 + 0.5) / 4
    assert auroc([0.9, 0.8], [0.1, 0.8]) == 0.875
    assert auroc([1.0, 1.0, 0.0], [0.5]) == pytest.approx(2 / 3)
    assert auroc([], [0.5]) is None
    assert auroc([0.5], []) is None


def test_auroc_equals_the_pairwise_definition():
    import random

    rng = random.Random(7)
    pos = [round(rng.random(), 2) for _ in range(60)]  # rounded: plenty of ties
    neg = [round(rng.random() * 0.8, 2) for _ in range(45)]
    greater = sum(p > n for p in pos for n in neg)
    ties = sum(p == n for p in pos for n in neg)
    assert auroc(pos, neg) == (greater + 0.5 * ties) / (len(pos) * len(neg))


def test_false_abstention_at_80_percent_out_of_scope_recall():
    abstained = [0.0, 0.0, 0.1, 0.2, 0.3, 0.3, 0.4, 0.5, 0.9, 1.0]  # 8 of 10 at or below 0.5
    answered = [0.2, 0.5, 0.6, 0.8]
    assert false_abstention_at(answered, abstained) == (0.5, 0.5)  # 0.2 and 0.5 (a tie)
    assert false_abstention_at(answered, abstained, recall=0.7) == (0.4, 0.25)
    assert false_abstention_at(answered, abstained, recall=1.0) == (1.0, 1.0)
    assert false_abstention_at([], abstained) == (None, None)
    assert false_abstention_at(answered, []) == (None, None)
    # every abstention at confidence 0 (an LLM-free agent below its threshold): the
    # threshold is 0, and only answered cases at 0 count as false abstentions
    assert false_abstention_at([0.0, 0.3, 0.7], [0.0] * 5) == (0.0, pytest.approx(1 / 3))


def test_abstention_separation_leaves_other_outcomes_out():
    pairs = [
        ("answered", 0.9),
        ("answered", 0.6),
        ("answered", 0.1),
        ("abstained", 0.0),
        ("abstained", 0.7),
        ("escalated", 0.0),
        (None, 0.5),
    ]
    s = abstention_separation(pairs)
    assert (s["n_answered"], s["n_abstained"]) == (3, 2)
    assert s["auroc"] == auroc([0.9, 0.6, 0.1], [0.0, 0.7])
    assert s["threshold"] == 0.7 and s["false_abstention"] == pytest.approx(2 / 3)
    empty = abstention_separation([("answered", 0.5)])
    assert empty["auroc"] is None and empty["false_abstention"] is None


def test_token_f1_is_squad_style():
    assert token_f1("The Eiffel Tower!", "eiffel tower") == 1.0  # case, punctuation, article
    assert token_f1("a b c", "x y") == 0.0
    # prediction "refund takes 5 days" (4), reference "refunds take 5 business days" (5):
    # common "5", "days": P = 2/4, R = 2/5
    assert token_f1("The refund takes 5 days.", "Refunds take 5 business days") == pytest.approx(
        2 * 0.5 * 0.4 / 0.9
    )
    assert token_f1("days days", "days") == pytest.approx(2 / 3)  # counts, not sets
    assert token_f1("", "") == 1.0 and token_f1("the", "an") == 1.0  # both empty
    assert token_f1("", "days") == 0.0


def test_content_f1_ignores_function_words():
    assert content_f1("What is the fee for it?", "fee") == 1.0
    assert token_f1("What is the fee for it?", "fee") < 0.5
    assert content_f1("Arizona Cardinals play outside US", "Do the Arizona Cardinals play?") == (
        pytest.approx(2 * 3 / (5 + 3))
    )
    assert content_f1("what about it", "how is it") == 1.0  # nothing left on either side
