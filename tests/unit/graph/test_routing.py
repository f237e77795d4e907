from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from graph.routing import (
    after_answer,
    after_guard,
    after_handoff,
    after_route,
    after_tools,
    decide_route,
)
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
    assert after_guard(SupportState(rejection="empty")) == "route"
    assert after_guard(SupportState()) == ["retrieve", "remember"]
    assert after_route(SupportState(route="answer")) == "answer"
    assert after_route(SupportState(route="abstain")) == "abstain"
    assert after_route(SupportState()) == "abstain"


def test_the_model_s_tool_calls_go_to_the_tools_and_back():
    call = AIMessage("", tool_calls=[{"name": "search_knowledge_base", "args": {}, "id": "1"}])
    assert after_answer(SupportState(messages=[HumanMessage("hi"), call])) == "tools"
    assert after_answer(SupportState(messages=[HumanMessage("hi"), AIMessage("ok")])) == "__end__"
    result = ToolMessage("found", tool_call_id="1")
    assert after_tools(SupportState(messages=[call, result])) == "answer"
    assert after_tools(SupportState(messages=[call, result], route="escalate")) == "create_ticket"
    assert after_route(SupportState(route="escalate")) == "create_ticket"
    assert after_guard(SupportState(escalation={"ticket_id": 1})) == "acknowledge"
    assert after_handoff(SupportState(escalation={"ticket_id": 1})) == "handoff"
    assert after_handoff(SupportState()) == "__end__"
