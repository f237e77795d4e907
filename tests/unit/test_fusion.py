from tools.fusion import bm25_weight, weighted_rrf


def test_document_found_by_both_retrievers_wins():
    fused = weighted_rrf(
        {"dense": ["a", "b", "c"], "bm25": ["c", "b", "d"]}, {"dense": 1.0, "bm25": 1.0}
    )
    assert {d for d, _ in fused[:2]} == {"b", "c"}
    assert fused[-1][0] in {"a", "d"}


def test_zero_weight_reproduces_the_other_ranking():
    fused = weighted_rrf(
        {"dense": ["a", "b", "c"], "bm25": ["c", "x"]}, {"dense": 1.0, "bm25": 0.0}
    )
    assert [d for d, _ in fused][:3] == ["a", "b", "c"]


def test_bm25_weight_grows_with_lexical_evidence_and_is_bounded():
    weights = [bm25_weight(m) for m in (0, 2, 8, 20, 60, 500)]
    assert weights[0] == 0.0
    assert weights == sorted(weights)
    assert 0 < weights[1] < weights[-1] <= 1.0
