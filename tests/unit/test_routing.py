from graph.builder import _after_guard, _after_route
from graph.routing import decide_route
from state import SupportState


def test_grounded_question_is_answered():
    assert decide_route(rejection=None, passages=5, top_score=0.55, threshold=0.3) == (
        "answer",
        ["grounded"],
    )


def test_below_threshold_abstains_with_reason():
    route, reasons = decide_route(rejection=None, passages=5, top_score=0.29, threshold=0.3)
    assert route == "abstain"
    assert reasons == ["low_confidence"]


def test_empty_knowledge_base_abstains():
    assert decide_route(rejection=None, passages=0, top_score=0.0, threshold=0.3) == (
        "abstain",
        ["no_passages"],
    )


def test_rejected_input_abstains_even_with_good_scores():
    route, reasons = decide_route(rejection="too_long", passages=5, top_score=0.9, threshold=0.3)
    assert (route, reasons) == ("abstain", ["input_too_long"])


def test_graph_edges_follow_state():
    assert _after_guard(SupportState(rejection="empty")) == "route"
    assert _after_guard(SupportState()) == "retrieve"
    assert _after_route(SupportState(route="answer")) == "answer"
    assert _after_route(SupportState(route="abstain")) == "abstain"
    assert _after_route(SupportState()) == "abstain"
