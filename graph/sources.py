"""What customers see of a source: its text cleaned for reading, and the numbered list.

Shared by both answerers (the LLM-free extract and the model's checked answer) and by
abstention's suggestions, so an article reads the same whichever wrote the reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from state import Citation

__all__ = ["FILE_SOURCE", "clean_text", "render_sources"]

_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_EMPTY_CELLS = re.compile(r"(?:\|[ \t]*){2,}$")
"""Empty cells that end a table row (a one-line CSV's header has thousands); an empty
cell inside a row stays, or the columns after it would shift."""
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")


def clean_text(text: str) -> str:
    r"""Text as a reader should see it: no HTML tags or anchors, no Markdown escapes.

    >>> clean_text('<a name="names"></a>Reserved \\_names\\_ <b>here</b>')
    'Reserved _names_ here'
    >>> clean_text("| name | values | | | |"), clean_text("| Bulb | | 12.50 |")
    ('| name | values |', '| Bulb | | 12.50 |')
    """
    return _EMPTY_CELLS.sub("|", _MD_ESCAPE.sub(r"\1", _HTML_TAG.sub("", text))).strip()


FILE_SOURCE = "(your file)"
"""How the source list marks a customer's own file (the next turn looks for it)."""


def render_sources(citations: Sequence[Citation]) -> str:
    """A numbered source list matching the ``[n]`` markers in an answer.

    Customers see titles, with the article's page when the knowledge base has one;
    never a file path or an internal id.

    >>> print(render_sources([
    ...     {"doc_id": "a/reset.md", "title": "Reset", "source": "a/reset.md", "score": 1.0,
    ...      "url": "https://help.example.com/a/reset"},
    ...     {"doc_id": "b/x.md", "title": "Refunds", "source": "b/x.md", "score": 0.5},
    ...     {"doc_id": "attachment:3", "title": "invoice.pdf", "source": "", "score": 0.4}]))
    Sources:
    <BLANKLINE>
    - [1] Reset: https://help.example.com/a/reset
    - [2] Refunds
    - [3] invoice.pdf (your file)
    """
    rows = []
    for number, c in enumerate(citations, start=1):
        title = clean_text(c["title"])
        if c.get("url"):
            rows.append(f"- [{number}] {title}: {c['url']}")
        elif c["doc_id"].startswith("attachment:"):
            rows.append(f"- [{number}] {title} {FILE_SOURCE}")
        else:
            rows.append(f"- [{number}] {title}")
    return "Sources:\n\n" + "\n".join(rows)
