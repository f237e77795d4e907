"""Attachment conversion: latency per file type, the cost of isolation, invoice field recall.

For every fixture under ``../shared/data/attachments`` (markitdown's test files,
invoice2data's invoices, docling's sources) it measures, in the same run:

- **isolated**: ``IsolatedConverter.convert`` as the agent runs it (a fresh child of a
  warm fork server, with limits, no network), from bytes to Markdown;
- **in-process**: markitdown's ``convert_stream`` on the same bytes in this process with
  one reused ``MarkItDown`` (the fastest possible, and unsafe: no isolation at all).

Isolation overhead per file = isolated − in-process. Field recall on invoice2data's
invoices uses ``evaluations.attachment_fields`` against the gold JSON.

    .venv/bin/python bench/attachments.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import machine  # noqa: E402

from evaluations.attachment_fields import field_recall  # noqa: E402
from state import AttachmentLimits  # noqa: E402
from tools.attachments.checks import check_file  # noqa: E402
from tools.attachments.converter import IsolatedConverter  # noqa: E402
from tools.attachments.worker import _EXTENSIONS  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "attachments"


def _fixtures() -> list[Path]:
    files = [
        p
        for folder in ("markitdown", "invoice2data", "docling")
        for p in sorted((SHARED / folder).rglob("*"))
        if p.is_file()
        and p.suffix.lower() not in {".json", ".md"}
        and p.name not in {"LICENSE", "SOURCES.txt"}
    ]
    files += [SHARED / "markitdown" / "test.json"]
    return files


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="conversions per file and mode")
    args = parser.parse_args()
    from markitdown import MarkItDown, StreamInfo

    limits = AttachmentLimits()
    converter = IsolatedConverter(limits)
    started = time.perf_counter()
    converter.convert(b"warm up", "txt")  # starts the fork server and imports the parsers
    warm_up_s = time.perf_counter() - started
    in_process = MarkItDown(enable_plugins=False)

    per_type: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    overheads: list[float] = []
    failures: list[str] = []
    for path in _fixtures():
        data = path.read_bytes()
        check = check_file(data, limits)
        if check.rejection:
            failures.append(f"{path.name}: refused ({check.rejection})")
            continue
        kind = check.detected_type
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = converter.convert(data, kind)
            isolated = time.perf_counter() - t0
            if not result.ok:
                failures.append(f"{path.name}: {result.error} ({result.detail or result.kind})")
                break
            t0 = time.perf_counter()
            in_process.convert_stream(
                io.BytesIO(data), stream_info=StreamInfo(extension=_EXTENSIONS.get(kind, ".txt"))
            )
            direct = time.perf_counter() - t0
            per_type[kind]["isolated"].append(isolated * 1000)
            per_type[kind]["direct"].append(direct * 1000)
            overheads.append((isolated - direct) * 1000)

    found = scored = 0
    per_invoice = {}
    for gold_path in sorted((SHARED / "invoice2data").glob("*.json")):
        gold = json.loads(gold_path.read_text())
        gold = gold[0] if isinstance(gold, list) else gold
        source = next(
            p for p in gold_path.parent.glob(f"{gold_path.stem}.*") if p.suffix != ".json"
        )
        data = source.read_bytes()
        result = converter.convert(data, check_file(data, limits).detected_type)
        hit, total, missed = field_recall(result.markdown, gold)
        found, scored = found + hit, scored + total
        per_invoice[source.name] = {"found": hit, "scored": total, "missed": missed}
    converter.close()

    rows = {}
    print(
        f"{'type':<10}{'files×runs':>11}{'isolated p50':>14}{'p95':>9}{'in-proc p50':>13}{'p95':>9}"
    )
    for kind, times in sorted(per_type.items()):
        iso, direct = times["isolated"], times["direct"]
        rows[kind] = {
            "conversions": len(iso),
            "isolated_ms": {"p50": statistics.median(iso), "p95": _percentile(iso, 0.95)},
            "in_process_ms": {"p50": statistics.median(direct), "p95": _percentile(direct, 0.95)},
        }
        cells = [statistics.median(iso), _percentile(iso, 0.95)]
        cells += [statistics.median(direct), _percentile(direct, 0.95)]
        print(
            f"{kind:<10}{len(iso):>11}{cells[0]:>12.0f}ms{cells[1]:>7.0f}ms"
            f"{cells[2]:>11.0f}ms{cells[3]:>7.0f}ms"
        )
    overhead = {"p50": statistics.median(overheads), "p95": _percentile(overheads, 0.95)}
    print(f"\nisolation overhead per file: median {overhead['p50']:.0f} ms", end="")
    print(f", p95 {overhead['p95']:.0f} ms")
    print(f"first conversion, starting the fork server (once per process): {warm_up_s:.2f} s")
    print(f"invoice2data field recall: {found}/{scored} = {found / scored:.3f}")
    for line in failures:
        print("not converted:", line)
    out = ROOT / "bench" / "results" / "attachments.json"
    out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "repeat": args.repeat,
                "per_type": rows,
                "isolation_overhead_ms": overhead,
                "fork_server_start_s": warm_up_s,
                "invoice_field_recall": {
                    "found": found,
                    "scored": scored,
                    "recall": found / scored,
                },
                "per_invoice": per_invoice,
                "not_converted": failures,
            },
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
