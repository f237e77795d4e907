from tools.knowledge_base.fusion import bm25_weight, weighted_rrf


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
    assert [d for d, _ in fused] == ["a", "b", "c"], "no candidates from a zero-weight retriever"


def test_bm25_weight_is_zero_for_short_questions_and_full_for_rich_descriptions():
    weights = [bm25_weight(m) for m in (0, 10, 20, 25, 35, 40, 500)]
    assert weights[:3] == [0.0, 0.0, 0.0]
    assert weights == sorted(weights)
    assert 0 < weights[3] < weights[4] < 1.0
    assert weights[5:] == [1.0, 1.0]
