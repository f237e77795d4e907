"""The LLM-free answerer: the best sentences of the retrieved passages, with citations.

Used when no model is configured and whenever the model fails. Units are
sentences and list items; each is scored by the IDF-weighted share of the
question's terms it contains, plus a prior for the passage's rank. A
procedure is kept whole: when the best unit is a step of a list, the list is
shown with the sentence that introduces it, because half a procedure is worse
than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from graph.sources import clean_text, render_sources
from state import Citation, Passage, citation_of
from tools.knowledge_base.focus import asking_sentences
from tools.knowledge_base.lexical import tokenize

__all__ = ["ExtractiveAnswer", "extractive_answer"]

_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_MAX_LIST_ITEMS = 8
# Words that shape a question but never identify its answer.
_QUESTION_WORDS = frozenset(
    tokenize(
        "how what when where why which who whom do does did can could would should will "
        "long much many take get show up need want please hi hello thanks help know tell "
        "there is are my me"
    )
)
# What kind of answer the question asks for, and what such an answer looks like.
_ANSWER_TYPES = (
    (
        re.compile(
            r"\b(how long|how soon|how quickly|when will|how many (days|hours|weeks))\b", re.I
        ),
        re.compile(
            r"\b(\d+(\s*[-–]\s*\d+)?\s*(business\s+)?(minutes?|hours?|days?|weeks?|"
            r"months?|years?)|instantly|immediately|same day)\b",
            re.I,
        ),
    ),
    (
        re.compile(r"\b(how much|cost|price|fee|charge|total|amount|balance|owe|paid)\b", re.I),
        re.compile(r"([$€£]\s?\d|\b\d+(\.\d+)?\s?(USD|EUR|GBP|dollars?)\b|\bfree\b)", re.I),
    ),
    (  # "can I return it?" is answered by what the customer may or may not do
        re.compile(r"^\s*(can|could|may) (i|we)\b|\b(am i|are we) (allowed|able|eligible)\b", re.I),
        re.compile(
            r"\b(you|we) (can|can't|cannot|may|must|need to|don't need)\b|\b(only|not) "
            r"(if|when|within|possible|eligible|allowed)\b|\bwithin \*{0,2}\d",
            re.I,
        ),
    ),
)
_ANSWER_TYPE_BOOST = 1.5
_WRONG_TYPE = 0.6
_MAX_CHARS = 1200
_HOW_TO = re.compile(
    r"\b(how (do|can|should|would|to) |how to\b|steps? (to|for)\b|"
    r"what (do|should|can|could) (i|we) (do|try)\b|troubleshoot|fix)",
    re.I,
)
_STEP_BOOST = 1.5
_INTRODUCES = re.compile(r"(:|\b(the following|as follows|below|these)\b[^.!?]*[.:])\s*$", re.I)
_LEANS_BACK = re.compile(
    r"^(?:(?:during|after|before|in|at|for|from|by|with|since|until|on|of)\s+)?"
    r"(this|that|these|those|it|they|such|then|however|also|but|otherwise)\b",
    re.I,
)


@dataclass(frozen=True)
class ExtractiveAnswer:
    """An answer assembled from passages, and the passages it cites."""

    text: str
    citations: list[Citation]


@dataclass
class _Unit:
    text: str
    block: int
    is_item: bool
    score: float = 0.0
    off_type: bool = False
    """Not the kind of answer the question asks for (no duration for "how long?")."""


def _units(passage_text: str) -> list[_Unit]:
    lines = passage_text.split("\n")
    if len(lines) > 2 and not lines[1].strip():
        lines = lines[2:]  # the chunk's "Title > Section" prefix line is not answer text
    units: list[_Unit] = []
    block = 0
    for raw in lines:
        line = clean_text(raw)
        if not line:
            block += 1
            continue
        if _HEADING.match(line) or set(line) <= {"-", "=", "|", ":", " "}:
            block += 1
            continue
        if _LIST_ITEM.match(line) or line.startswith("|"):  # table rows read like list items
            units.append(_Unit(line, block, True))
        else:
            block += 1
            units.extend(_Unit(s.strip(), block, False) for s in _SENTENCE.split(line) if s.strip())
    return units


def _score(unit: _Unit, weights: Mapping[str, float], total: float) -> float:
    terms = set(tokenize(unit.text))
    if not terms or total <= 0:
        return 0.0
    covered = sum(w for t, w in weights.items() if t in terms)
    length_penalty = 1.0 / (1.0 + 0.02 * max(0, len(unit.text.split()) - 30))
    return covered / total * length_penalty


def extractive_answer(
    question: str,
    passages: Sequence[Passage],
    term_weights: Mapping[str, float] | None = None,
    *,
    max_units: int = 4,
    focus: Mapping[str, str] | None = None,
) -> ExtractiveAnswer:
    """Answer ``question`` from ``passages`` (best first) by quoting their best units.

    ``focus`` maps a value the customer told us (their plan, their product) to how to
    say it ("you're on the Pro plan"); the quoted unit naming it is repeated up front.
    Returns no citations when nothing can be quoted (the caller abstains).
    """
    if not passages:
        return ExtractiveAnswer("", [])
    weights = {t: w for t, w in (term_weights or {}).items() if t not in _QUESTION_WORDS}
    # A word the knowledge base never uses is as rare as words get (a customer's file
    # may use it); the latest message's own words outweigh those its query borrowed
    # from earlier turns ("and the subtotal?" after "the total on my receipt?").
    # The sentence that asks weighs most: in "I bought a Bulb two weeks ago. Can I return
    # it?" the story sets the scene, the question says what the answer is about.
    rarest = max(weights.values(), default=1.0)
    asking = _asking_sentences(question) - _QUESTION_WORDS
    if not asking:  # "My lamp arrived broken. What now?": the story is what is asked
        asking = set(tokenize(question))
    for term in set(tokenize(question)) - _QUESTION_WORDS:
        weights[term] = (weights.get(term) or rarest) * (2 if term in asking else 0.5)
    total = sum(weights.values())
    shapes = [
        shape
        for asks, shape in _ANSWER_TYPES
        if any(asks.search(sentence) for sentence in _SENTENCE.split(question))
    ]
    how_to = bool(_HOW_TO.search(question))
    scored: list[tuple[float, int, int]] = []
    per_passage: list[list[_Unit]] = []
    for p_index, passage in enumerate(passages[:3]):
        units = _units(passage["text"])
        prior = 1.0 / (1.0 + 0.35 * p_index)
        for u_index, unit in enumerate(units):
            unit.score = _score(unit, weights, total) * prior
            if any(shape.search(unit.text) for shape in shapes):
                unit.score *= _ANSWER_TYPE_BOOST
            elif shapes:
                unit.score *= _WRONG_TYPE  # "how long …?" is not answered without a duration
                unit.off_type = True
            if how_to and (unit.is_item or _introduces_list(units, u_index)):
                unit.score *= _STEP_BOOST  # "how do I …": the steps, not the side notes
            if _dangling_intro(units, u_index):
                unit.score = 0.0  # "X reserves the following names." without the names
            scored.append((unit.score, p_index, u_index))
        per_passage.append(units)
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    if not scored:
        return ExtractiveAnswer("", [])  # nothing quotable: the caller abstains
    # The top-ranked document leads (retrieval ranks documents better than word overlap
    # ranks sentences) unless another one matches the question far better.
    top_best = max((u.score for u in per_passage[0]), default=0.0)
    best_p = scored[0][1] if scored[0][0] > 2 * top_best else 0
    if not per_passage[best_p]:
        best_p = scored[0][1]
    best_u = max(range(len(per_passage[best_p])), key=lambda i: per_passage[best_p][i].score)
    best_score = per_passage[best_p][best_u].score
    if best_score <= 0:  # a paraphrase with no word in common: the article's opening
        units = per_passage[best_p]
        whole = [i for i in range(len(units)) if not _dangling_intro(units, i)]
        if not whole:
            return ExtractiveAnswer("", [])
        best_u = whole[0]
    chosen = {best_p: _window(per_passage[best_p], best_u, best_score, max_units)}
    _second_stretch(per_passage[best_p], chosen[best_p], best_score, max_units)
    said = _terms_of(per_passage[best_p], chosen[best_p])
    about_a_file = passages[best_p]["doc_id"].startswith("attachment:")
    for score, p_index, u_index in scored:
        if p_index == best_p or score < 0.75 * best_score or len(chosen) >= 2:
            continue
        if about_a_file and not passages[p_index]["doc_id"].startswith("attachment:"):
            continue  # a question about the customer's file is answered from files only
        adds = sum(
            w
            for t, w in weights.items()
            if t in set(tokenize(per_passage[p_index][u_index].text)) - said
        )
        if adds >= 0.2 * total:  # a second article only when it answers more of the question
            chosen[p_index] = _window(per_passage[p_index], u_index, score, max_units // 2)
            break
    order = sorted(chosen, key=lambda p: (p != best_p, p))
    parts: list[str] = []
    citations: list[Citation] = []
    budget = _MAX_CHARS // max(1, len(order))
    for number, p_index in enumerate(order, start=1):
        passage = passages[p_index]
        units = per_passage[p_index]
        parts.append(_render(units, sorted(chosen[p_index]), number, budget))
        citations.append(citation_of(passage))
    first = passages[order[0]]
    if first["doc_id"].startswith("attachment:"):
        lead = f"Here is what your file “{clean_text(first['title'])}” says:"
    else:
        lead = f"Here is what our help centre says in “{clean_text(first['title'])}”:"
    units_said = [per_passage[p][i] for p in order for i in chosen[p]]
    personal = _personal_line(focus or {}, units_said, question)
    if personal:
        lead = f"{personal}\n\n{lead}"
    body = "\n\n".join(parts)
    return ExtractiveAnswer(f"{lead}\n\n{body}\n\n{render_sources(citations)}", citations)


def _asking_sentences(question: str) -> set[str]:
    """The words of the question's sentences that ask (end in "?"), or of all of it."""
    return set(tokenize(asking_sentences(question)))


def _introduces(unit: _Unit) -> bool:
    return not unit.is_item and bool(_INTRODUCES.search(unit.text))


def _introduces_list(units: list[_Unit], index: int) -> bool:
    """A sentence that introduces the list or table right after it."""
    follows = index + 1 < len(units) and units[index + 1].is_item
    return _introduces(units[index]) and follows


def _dangling_intro(units: list[_Unit], index: int) -> bool:
    """A sentence that introduces a list or table that is not there to show with it."""
    return _introduces(units[index]) and not _introduces_list(units, index)


def _window(units: list[_Unit], best: int, best_score: float, max_units: int) -> set[int]:
    """The best unit with what it needs to stand alone, and the next ones that also answer.

    One contiguous stretch: a sentence that leans on the one before ("This takes a
    day.") brings it; a list comes whole with its introduction; repeated text is dropped.
    """
    chosen = {best}
    if _LEANS_BACK.match(units[best].text) and best > 0 and not units[best].is_item:
        chosen.add(best - 1)
    index = best + 1
    while index < len(units) and len(chosen) < max(1, max_units):
        if units[index].block != units[best].block:
            break  # the next paragraph or section is about something else
        leans = _LEANS_BACK.match(units[index].text) and units[index].score > 0
        if units[index].score < 0.5 * best_score and not leans:
            break
        chosen.add(index)
        index += 1
    for i in sorted(chosen):
        _expand_list(units, i, chosen)
    _drop_repeats(units, chosen)
    return chosen


def _drop_repeats(units: list[_Unit], chosen: set[int]) -> None:
    """Keep the first of units that say the same thing."""
    seen: set[str] = set()
    for i in sorted(chosen):
        key = " ".join(tokenize(units[i].text))
        if key in seen:
            chosen.discard(i)
        seen.add(key)


def _second_stretch(units: list[_Unit], chosen: set[int], best_score: float, limit: int) -> None:
    """Another stretch of the same article that also answers, if it stands on its own.

    Shown as its own paragraph, never spliced to the first with "…".
    """
    room = limit - len(chosen)
    candidates = [
        i
        for i in sorted(range(len(units)), key=lambda i: -units[i].score)
        if i not in chosen
        and units[i].score >= 0.6 * best_score
        and not units[i].off_type  # a second stretch answers the question too
        and not _dangling_intro(units, i)
    ]
    if room <= 0 or not candidates:
        return
    chosen.update(_window(units, candidates[0], units[candidates[0]].score, room))
    _drop_repeats(units, chosen)


def _terms_of(units: list[_Unit], indices: set[int]) -> set[str]:
    return {t for i in indices for t in tokenize(units[i].text)}


def _personal_line(focus: Mapping[str, str], units: Sequence[_Unit], question: str) -> str | None:
    """Say back the quoted unit that names the customer's plan or product, if any.

    Only what the memory added: a value the question names itself is not said back.

    >>> unit = _Unit("Pro: 60 days.", 0, False)
    >>> _personal_line({"Pro": "you're on the Pro plan"}, [unit], "How long are clips kept?")
    "Since you're on the Pro plan: Pro: 60 days."
    >>> _personal_line({"Pro": "you're on the Pro plan"}, [unit], "How long on Pro?") is None
    True
    """
    for value, phrase in focus.items():
        pattern = re.compile(rf"\b{re.escape(value)}\b")
        if re.search(rf"\b{re.escape(value)}\b", question, re.I):
            continue
        for unit in units:
            if pattern.search(unit.text):
                text = _LIST_ITEM.sub("", unit.text).replace("**", "").strip()
                return f"Since {phrase}: {text}"
    return None


def _expand_list(units: list[_Unit], index: int, chosen: set[int]) -> None:
    """Keep a whole list (bounded) and its introducing sentence when one item is chosen."""
    if not units[index].is_item:
        if _introduces_list(units, index):
            _expand_list(units, index + 1, chosen)  # "Do this:" is useless without the list
        return
    block = units[index].block
    members = [i for i, u in enumerate(units) if u.is_item and u.block == block]
    start = members.index(index)
    window = members[max(0, start - _MAX_LIST_ITEMS // 2) :][:_MAX_LIST_ITEMS]
    chosen.update(window)
    intro = members[0] - 1
    if intro >= 0 and _introduces(units[intro]):
        chosen.add(intro)


def _render(units: list[_Unit], indices: list[int], number: int, budget: int) -> str:
    """The chosen units of one passage, cut to ``budget`` characters, then its marker."""
    text = _join_units(units, indices)
    if len(text) > budget:
        cut = text[:budget]
        text = (cut.rsplit("\n", 1)[0] if "\n" in cut else cut.rsplit(" ", 1)[0]) + " …"
    return f"{text} [{number}]"


def _join_units(units: list[_Unit], indices: list[int]) -> str:
    lines: list[str] = []
    prose: list[str] = []
    previous = -2
    for i in indices:
        unit = units[i]
        if unit.is_item:
            if prose:
                lines.append(" ".join(prose))
                prose = []
            lines.append(unit.text)
        else:
            if prose and i != previous + 1:  # another stretch: its own paragraph
                lines.append(" ".join(prose))
                prose = []
            prose.append(unit.text)
        previous = i
    if prose:
        lines.append(" ".join(prose))
    return "\n".join(lines)
