"""Adapters: real public datasets (``../shared/data``) turned into evaluation cases.

They read the data at run time and never copy it into the project (a user's
checkout does not have it): a missing folder raises ``DataMissingError`` naming
what is missing. What each adapter labels:

- **tau2 banking**: 97 customer tasks; gold documents = ``required_documents``;
  tasks whose evaluation actions include ``transfer_to_human_agents`` (13) are
  labelled ``escalated``, the others ``answered``. KB: ``documents/`` (698 JSON
  records). Two variants of what the customer says: ``instructions`` (one
  message, the task's instructions: the strongest retrieval signal) and
  ``dialogue`` (one turn per behaviour line of the instructions, see
  ``utterances``: the realistic escalation test).
- **CLINC150**: in-scope test queries (``answered``, gold = the KB records of
  their intent) mixed with ``oos_test`` queries (``abstained``, no gold).
- **BANKING77**: test queries, all in scope (``answered``, gold = intent).
- **DSTC10 track 2**: the 104 knowledge-seeking turns of the spoken validation dialogues,
  each as a transcript (earlier turns imported, the last one asked); gold = its FAQ
  snippet. KB: every snippet of ``knowledge.json`` (``write_dstc10_kb``).
- **MTRAG**: MTRAG-UN's 507 generation tasks as transcripts, with reference answers and
  answerability (answerable / partial are ``answered``, unanswerable / underspecified
  ``abstained``); KB: their gold passages (``write_mtrag_kb``). And MTRAG's 777 retrieval
  questions with gold standalone rewrites (``mtrag_rewrite_cases``): the follow-ups, to
  score the turn's search query.

For the FAQ sets the KB is built from the *train* split (``FaqKb``): one record
per training question, ``{"id": "<intent>--<n>", "title": "", "content":
"# <question>"}``. The question is a Markdown heading so the stored chunk is
exactly the question; with plain content and no title the loader would derive
the title from the id, i.e. the gold intent name, and leak the label into the
chunk (bench/retrieval.py measures that leak).
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evaluations.dataset import Case, Message

__all__ = [
    "SOURCES",
    "DataMissingError",
    "FaqKb",
    "banking77_cases",
    "bitext_cases",
    "clinc150_cases",
    "dstc10_cases",
    "faq_split",
    "goal_sentence",
    "mtrag_cases",
    "mtrag_rewrite_cases",
    "nlupp_cases",
    "tau2_cases",
    "utterances",
    "write_dstc10_kb",
    "write_kb",
    "write_mtrag_kb",
]

SOURCES = ("tau2", "clinc150", "banking77", "bitext", "nlupp", "dstc10", "mtrag")
Tau2Variant = Literal["instructions", "dialogue"]


class DataMissingError(FileNotFoundError):
    """The shared data this adapter reads is not there (see ``../shared/data/README.md``)."""


def _need(path: Path) -> Path:
    if not path.exists():
        raise DataMissingError(
            f"missing {path}: the adapters read the shared datasets at run time "
            "(../shared/data, see its README); pass --data to point elsewhere"
        )
    return path


# -- what a tau2 customer says ---------------------------------------------------------------

_GOAL = re.compile(
    r"\b(you(?:'re| are) (?:looking|calling|trying|seeking|interested|contacting|reaching)"
    r"|you want|you need|you would like|you'd like|your goal|you wish|you(?:'ve)? noticed"
    r"|you have noticed)",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"^(if|when|once|after|whenever|each time|as soon as)\b[^,]*,\s*", re.I)
_QUOTED = re.compile(r"[\"“]([^\"”]{4,200})[\"”]")


def goal_sentence(instructions: str) -> str | None:
    r"""First sentence stating what the customer wants (heuristic), markdown labels removed.

    >>> goal_sentence("**Your character:** Ann.\n**Your goal:** You want to close the card.")
    'You want to close the card.'
    """
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", instructions):
        if _GOAL.search(sentence) and "playing the role" not in sentence:
            text = re.sub(r"\*\*[^*]+:\*\*\s*", "", sentence).strip()
            if len(text.split()) >= 4:
                return text
    return None


def utterances(instructions: str) -> list[str]:
    """What the simulated customer would say, from tau2's stage directions.

    Each bullet or conditional line becomes its action ("If ..., <action>") and every
    quoted phrase is said as written.

    >>> utterances('- If asked, say "This is unacceptable!"')
    ['This is unacceptable!', 'say "This is unacceptable!"']
    """
    said: list[str] = []
    for raw in instructions.splitlines():
        line = raw.strip().lstrip("-•*0123456789. ").strip()
        if not line:
            continue
        said.extend(_QUOTED.findall(line))
        if raw.strip().startswith(("-", "•", "*")) or _CONDITION.match(line):
            said.append(_CONDITION.sub("", line))
    return said


def tau2_cases(data: Path, variant: Tau2Variant = "instructions") -> list[Case]:
    """The 97 tau2 banking tasks as cases (gold docs and escalation labels)."""
    tasks = _need(data / "tau2_banking_knowledge" / "tasks")
    cases = []
    for path in sorted(tasks.glob("*.json")):
        task = json.loads(path.read_text(encoding="utf-8"))
        text = task["user_scenario"]["instructions"]
        if not isinstance(text, str):  # some tau2 versions nest it
            text = json.dumps(text)
        actions = (task.get("evaluation_criteria") or {}).get("actions") or []
        transfer = any(a.get("name") == "transfer_to_human_agents" for a in actions)
        said = [text] if variant == "instructions" else utterances(text) or [text]
        cases.append(
            Case(
                id=str(task["id"]),
                threads=(tuple(Message(m) for m in said),),
                expected_doc_ids=tuple(task.get("required_documents") or ()),
                expected_outcome="escalated" if transfer else "answered",
                metadata={"source": "tau2_banking", "variant": variant},
            )
        )
    return cases


def tau2_kb(data: Path) -> Path:
    """The folder of tau2 banking documents (pass it to ``--kb``)."""
    return _need(data / "tau2_banking_knowledge" / "documents")


# -- FAQ-style sets (CLINC150, BANKING77) ----------------------------------------------------


@dataclass
class FaqKb:
    """A knowledge base of training questions, one record per question."""

    records: list[tuple[str, str]]
    """(doc id ``<intent>--<n>``, question)."""

    def ids_of(self, intent: str) -> tuple[str, ...]:
        """The doc ids of one intent (the gold documents of its queries)."""
        return tuple(rid for rid, _ in self.records if rid.rpartition("--")[0] == intent)


def _clean(text: str) -> str:
    return " ".join(text.split())


def faq_split(
    rows_train: Sequence[Sequence[str]],
    rows_test: Sequence[Sequence[str]],
    n_train: int,
    n_test: int,
    seed: int,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """Per intent: ``n_train`` KB records, ``n_test`` test queries, ``n_test`` held-out ones.

    Rows are ``(text, intent)``. Returns (records ``(id, question)``, test ``(query, intent)``,
    held-out ``(query, intent)``); test and held-out are disjoint; the seed fixes the draw.
    """
    rng = random.Random(seed)
    by_train: dict[str, list[str]] = defaultdict(list)
    by_test: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows_train:
        by_train[intent].append(_clean(text))
    for text, intent in rows_test:
        by_test[intent].append(_clean(text))
    records: list[tuple[str, str]] = []
    test: list[tuple[str, str]] = []
    held: list[tuple[str, str]] = []
    for intent in sorted(by_train):
        unique = sorted(set(by_train[intent]))
        picked = rng.sample(unique, min(n_train, len(unique)))
        records += [(f"{intent}--{i}", q) for i, q in enumerate(picked)]
        pool = sorted(set(by_test[intent]))
        rng.shuffle(pool)
        test += [(q, intent) for q in pool[:n_test]]
        held += [(q, intent) for q in pool[n_test : 2 * n_test]]
    return records, test, held


def _write_records(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """Write KB records as JSONL; unchanged content leaves the file (and the KB cache) alone."""
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def write_kb(path: Path, kb: FaqKb) -> Path:
    """Write the KB as JSON records (unchanged content leaves the file untouched)."""
    return _write_records(
        path, [{"id": rid, "title": "", "content": f"# {q}"} for rid, q in kb.records]
    )


def _faq_cases(name: str, kb: FaqKb, queries: list[tuple[str, str]], oos: list[str]) -> list[Case]:
    cases = [
        Case(
            id=f"{name}-{n:04d}",
            threads=((Message(text),),),
            expected_doc_ids=kb.ids_of(intent),
            expected_outcome="answered",
            metadata={"source": name, "intent": intent},
        )
        for n, (text, intent) in enumerate(queries)
    ]
    cases += [
        Case(
            id=f"{name}-oos-{n:04d}",
            threads=((Message(text),),),
            expected_outcome="abstained",
            metadata={"source": name, "intent": "oos"},
        )
        for n, text in enumerate(oos)
    ]
    return cases


def clinc150_cases(
    data: Path, *, in_scope: int = 500, out_of_scope: int = 500, n_train: int = 10, seed: int = 13
) -> tuple[list[Case], FaqKb]:
    """CLINC150: ``in_scope`` test queries (``answered``) and ``out_of_scope`` oos_test ones."""
    full = json.loads(_need(data / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    records, test, _ = faq_split(full["train"], full["test"], n_train, 10**6, seed)
    rng = random.Random(seed)
    queries = rng.sample(test, min(in_scope, len(test)))
    oos = rng.sample([_clean(t) for t, _ in full["oos_test"]], min(out_of_scope, 1000))
    kb = FaqKb(records)
    return _faq_cases("clinc150", kb, queries, oos), kb


def banking77_cases(
    data: Path, *, sample: int = 500, n_train: int = 20, seed: int = 13
) -> tuple[list[Case], FaqKb]:
    """BANKING77: ``sample`` test queries, all in scope (``answered``, gold = their intent)."""

    def read(name: str) -> list[tuple[str, str]]:
        with _need(data / "banking77" / name).open(newline="", encoding="utf-8") as handle:
            return [(row["text"], row["category"]) for row in csv.DictReader(handle)]

    records, test, _ = faq_split(read("train.csv"), read("test.csv"), n_train, 10**6, seed)
    queries = random.Random(seed).sample(test, min(sample, len(test)))
    kb = FaqKb(records)
    return _faq_cases("banking77", kb, queries, []), kb


# -- requests for a person (escalation) ------------------------------------------------------

_BITEXT_ESCALATE = frozenset({"contact_human_agent", "complaint"})
NLUPP_TEST_FOLDS = range(16, 20)
"""NLU++ has 20 folds and no official split: folds 0-13 train the escalation heads,
14-15 tune their thresholds, 16-19 are the test set."""


def bitext_cases(data: Path) -> list[Case]:
    """Bitext's official test split: a request for a person or a complaint escalates.

    The other 25 intents (``contact_customer_service`` and ``review`` among them, the
    near misses) are labelled ``answered``: only escalation precision / recall / F1
    mean anything on this set (the knowledge base is not theirs).
    """
    path = data / "bitext_support" / "intent_detection"
    path = _need(path / "Bitext_Sample_Customer_Service_Testing_Dataset.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Case(
            id=f"bitext-{n:04d}",
            threads=((Message(_clean(row["utterance"])),),),
            expected_outcome="escalated" if row["intent"] in _BITEXT_ESCALATE else "answered",
            metadata={"source": "bitext", "intent": row["intent"], "tags": row["tags"]},
        )
        for n, row in enumerate(rows)
    ]


def nlupp_cases(data: Path) -> list[Case]:
    """NLU++ test folds (16-19), banking and hotels: ``handoff`` escalates.

    The label marks the topic, so the few "no, you don't need to transfer me" count as
    requests here too (the agent rightly does not escalate them: they show as misses).
    """
    cases = []
    for domain in ("banking", "hotels"):
        for fold in NLUPP_TEST_FOLDS:
            items = json.loads(_need(data / "nlupp" / domain / f"fold{fold}.json").read_text())
            for n, item in enumerate(items):
                intents = item.get("intents") or []
                cases.append(
                    Case(
                        id=f"nlupp-{domain}-{fold}-{n:03d}",
                        threads=((Message(_clean(item["text"])),),),
                        expected_outcome="escalated" if "handoff" in intents else "answered",
                        metadata={"source": "nlupp", "domain": domain, "intents": intents},
                    )
                )
    return cases


# -- transcripts with knowledge to find (DSTC10, MTRAG) --------------------------------------

_ROLES: dict[str, Literal["user", "assistant"]] = {
    "U": "user",
    "S": "assistant",
    "user": "user",
    "agent": "assistant",
}
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def _transcript(turns: Sequence[dict[str, Any]]) -> tuple[Message, ...]:
    """Recorded turns as messages (speech-recognition alternatives ignored: ``text`` only)."""
    return tuple(
        Message(t["text"].strip(), role=_ROLES[t["speaker"]]) for t in turns if t["text"].strip()
    )


def _dstc10_doc_id(domain: str, entity: str, doc: str) -> str:
    """``hotel-110053-14``; domain-wide knowledge (entity ``*``) is ``taxi-all-3``."""
    return f"{domain}-{'all' if entity == '*' else entity}-{doc}"


def _words(text: str) -> str:
    """Lowercase alphanumeric words, space-separated and padded (for whole-word matching)."""
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower().replace("'", "")).strip() + " "


def _named_by(name: str, turns: Sequence[Message]) -> str:
    """Who named the entity in ``turns``: ``user``, only the ``assistant``, or ``none``.

    A whole-word match on the first two words of the name (speech recognition mangles
    the rest often enough).
    """
    key = " ".join(_words(name).split()[:2])
    if not key:
        return "none"
    said = {
        role: any(f" {key} " in _words(m.text) for m in turns if m.role == role)
        for role in _ROLES.values()
    }
    return "user" if said["user"] else "assistant" if said["assistant"] else "none"


def _load_json(path: Path) -> Any:
    return json.loads(_need(path).read_text(encoding="utf-8"))


def _dstc10_case(n: int, turns: list[dict[str, Any]], label: dict[str, Any], kb: Any) -> Case:
    gold = label["knowledge"]
    messages = _transcript(turns)
    entity = kb[gold[0]["domain"]][str(gold[0]["entity_id"])]
    return Case(
        id=f"dstc10-{n:03d}",
        threads=(messages,),
        expected_doc_ids=tuple(
            _dstc10_doc_id(k["domain"], str(k["entity_id"]), str(k["doc_id"])) for k in gold
        ),
        expected_outcome="answered",
        reference_answer=label.get("response") or None,
        metadata={
            "source": "dstc10",
            "domain": gold[0]["domain"],
            "entity_named_by": _named_by(entity.get("name") or "", messages[:-1]),
        },
    )


def dstc10_cases(data: Path) -> list[Case]:
    """DSTC10 track 2 validation: one transcript per knowledge-seeking turn (104).

    The earlier turns (customer ``U`` and agent ``S``) are history, the last customer turn
    is asked; gold = its snippet, reference answer = the human agent's reply.
    ``metadata.entity_named_by``: who named the gold entity in an earlier turn (the
    question itself rarely does: "what is the check-in time there?").
    """
    root = data / "dstc10_track2"
    logs, labels = _load_json(root / "val" / "logs.json"), _load_json(root / "val" / "labels.json")
    knowledge = _load_json(root / "knowledge.json")
    return [
        _dstc10_case(n, turns, label, knowledge)
        for n, (turns, label) in enumerate(zip(logs, labels, strict=True))
        if label.get("target")
    ]


def write_dstc10_kb(data: Path, path: Path) -> Path:
    """Every DSTC10 snippet as a KB record (12,039): title names the entity and the question."""
    knowledge = _load_json(data / "dstc10_track2" / "knowledge.json")
    records = []
    for domain, entities in knowledge.items():
        for entity_id, entity in entities.items():
            subject = domain.capitalize() if entity_id == "*" else entity.get("name") or domain
            for doc_id, doc in entity["docs"].items():
                records.append(
                    {
                        "id": _dstc10_doc_id(domain, entity_id, doc_id),
                        "title": f"{subject}: {doc['title']}",
                        "content": doc["body"],
                    }
                )
    return _write_records(path, records)


_MTRAG_OUTCOMES = {
    "answerable": "answered",
    "partial": "answered",
    "unanswerable": "abstained",
    "underspecified": "abstained",
}


def _mtrag_id(document_id: str) -> str:
    return _UNSAFE_ID.sub("-", document_id)


def _mtrag_tasks(data: Path) -> list[dict[str, Any]]:
    path = _need(data / "mtrag" / "mtragun" / "generation_tasks" / "reference.jsonl")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def mtrag_cases(data: Path) -> list[Case]:
    """MTRAG-UN's 507 generation tasks: the conversation so far as a transcript.

    Answerable and partial tasks should be answered (gold = their passages); unanswerable
    and underspecified ones should not be answered from the KB (``abstained``: the agent
    says it does not know, or asks what the customer means).
    """
    cases = []
    for task in _mtrag_tasks(data):
        answerability = str(task["answerability"][0]).lower()
        outcome = _MTRAG_OUTCOMES[answerability]
        gold = tuple(dict.fromkeys(_mtrag_id(c["document_id"]) for c in task["contexts"]))
        cases.append(
            Case(
                id=f"mtrag-{task['conversation_id']}-{task['turn']}",
                threads=(_transcript(task["input"]),),
                expected_doc_ids=gold if outcome == "answered" and gold else None,
                expected_outcome=outcome,
                reference_answer=task["targets"][0]["text"] if task["targets"] else None,
                metadata={
                    "source": "mtrag",
                    "answerability": answerability,
                    "collection": task["Collection"],
                },
            )
        )
    return cases


def _passage_title(context: dict[str, Any]) -> str:
    """The passage's title, or its first words when it has none (FiQA, some IBM Cloud)."""
    if context.get("title"):
        return _clean(context["title"])
    words = _clean(context["text"]).split()
    return " ".join(words[:8]) + (" …" if len(words) > 8 else "")


def write_mtrag_kb(data: Path, path: Path) -> Path:
    """The gold passages of every MTRAG-UN task, once each (the full corpora are not here)."""
    records: dict[str, dict[str, Any]] = {}
    for task in _mtrag_tasks(data):
        for context in task["contexts"]:
            doc_id = _mtrag_id(context["document_id"])
            records.setdefault(
                doc_id,
                {
                    "id": doc_id,
                    "title": _passage_title(context),
                    "content": context["text"].strip(),
                    "metadata": {"collection": task["Collection"]},
                },
            )
    return _write_records(path, list(records.values()))


_MTRAG_COLLECTIONS = ("clapnq", "cloud", "fiqa", "govt")
_USER_TURN = re.compile(r"(?:^|\n)\|user\|: ?")


def _user_turns(text: str) -> list[str]:
    """``|user|: ...`` lines (a turn may span lines) as the customer's messages."""
    return [_clean(t) for t in _USER_TURN.split(text) if _clean(t)]


def _jsonl_by_id(path: Path) -> dict[str, str]:
    with _need(path).open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {row["_id"]: row["text"] for row in rows}


def mtrag_rewrite_cases(data: Path) -> list[Case]:
    """MTRAG's retrieval questions that follow earlier ones (675 of 777), with gold rewrites.

    Customer turns only (what the agent answered is not in these files), so every turn
    runs; not scored for outcome: ``metadata.rewrite`` scores the last turn's search query.
    """
    root = data / "mtrag" / "mtrag_human" / "retrieval_tasks"
    cases = []
    for collection in _MTRAG_COLLECTIONS:
        questions = _jsonl_by_id(root / collection / f"{collection}_questions.jsonl")
        rewrites = _jsonl_by_id(root / collection / f"{collection}_rewrite.jsonl")
        for qid, text in questions.items():
            turns = _user_turns(text)
            rewrite = " ".join(_user_turns(rewrites.get(qid, "")))
            if len(turns) < 2 or not rewrite:
                continue
            conversation, _, turn = qid.partition("<::>")
            cases.append(
                Case(
                    id=f"mtrag-rewrite-{collection}-{conversation}-{turn}",
                    threads=(tuple(Message(t) for t in turns),),
                    metadata={
                        "source": "mtrag_rewrite",
                        "rewrite": rewrite,
                        "collection": collection,
                    },
                )
            )
    return cases
