"""Field recall of converted invoices: how many gold field values appear in the Markdown.

A value counts as found when any of its usual written forms appears:
numbers with or without thousands separators and decimals (``1939.0`` matches
``1,939.00``), dates in ISO, day-first, month-first and month-name forms, and
text case- and whitespace-insensitively. Fields that are lists (line items)
or free descriptions are not scored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

__all__ = ["field_recall", "value_forms"]

_SKIPPED = frozenset({"desc", "lines", "currency", "issuer"})
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _number_forms(value: float) -> set[str]:
    forms = {f"{value:.2f}", f"{value:,.2f}"}
    forms |= {f.replace(",", "_").replace(".", ",").replace("_", ".") for f in set(forms)}
    forms.add(f"{value:,.2f}".replace(",", " ").replace(".", ","))
    if float(value).is_integer():
        forms |= {f"{int(value)}", f"{int(value):,}", f"{int(value):,}".replace(",", ".")}
    return forms


def _date_forms(day: date) -> set[str]:
    d, m, y = day.day, day.month, day.year
    month, mon = day.strftime("%B"), day.strftime("%b")
    forms = {
        day.isoformat(),
        f"{d:02d}/{m:02d}/{y}",
        f"{m:02d}/{d:02d}/{y}",
        f"{d}/{m}/{y}",
        f"{m}/{d}/{y}",
        f"{d:02d}.{m:02d}.{y}",
        f"{d}.{m}.{y}",
        f"{d:02d}-{m:02d}-{y}",
        f"{d}-{m}-{y}",
        f"{y}/{m:02d}/{d:02d}",
        f"{d:02d}.{m:02d}.{y % 100:02d}",
        f"{d:02d}/{m:02d}/{y % 100:02d}",
        f"{d} {month} {y}",
        f"{d:02d} {month} {y}",
        f"{month} {d}, {y}",
        f"{d} {mon} {y}",
        f"{d:02d} {mon} {y}",
        f"{mon} {d}, {y}",
        f"{d:02d}-{mon}-{y}",
        f"{d}-{mon}-{y}",
        f"{mon} {d:02d}, {y}",
    }
    return {_normalise(f) for f in forms}


def value_forms(value: Any) -> set[str]:
    """The written forms ``value`` may take in a document (normalised).

    >>> sorted(value_forms(1939.0))[:3]
    ['1 939,00', '1,939', '1,939.00']
    >>> "31/12/2017" in value_forms("2017-12-31")
    True
    """
    if isinstance(value, bool):
        return {str(value).lower()}
    if isinstance(value, int | float):
        return _number_forms(float(value))
    text = str(value)
    match = _ISO_DATE.match(text.strip())
    if match:
        return _date_forms(date(int(match[1]), int(match[2]), int(match[3])))
    return {_normalise(text)}


def _appears(form: str, haystack: str) -> bool:
    """``form`` as a whole token: "1939" must not match inside "219390" or "1939.50"."""
    pattern = rf"(?<![\w.,]){re.escape(form)}(?![\w]|[.,]\d)"
    return re.search(pattern, haystack) is not None


def field_recall(
    markdown: str, gold: Mapping[str, Any], skip: Iterable[str] = _SKIPPED
) -> tuple[int, int, list[str]]:
    """(found, scored, missed field names) for one document against its gold fields."""
    haystack = _normalise(markdown.replace("**", "").replace("|", " "))
    skipped = set(skip)
    found, scored, missed = 0, 0, []
    for name, value in gold.items():
        if name in skipped or isinstance(value, list | dict) or value in (None, ""):
            continue
        scored += 1
        if any(form and _appears(form, haystack) for form in value_forms(value)):
            found += 1
        else:
            missed.append(name)
    return found, scored, missed
