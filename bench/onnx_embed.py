"""A faster embedding path? ONNX Runtime (fp32 and int8) against PyTorch, speed and MRR.

Run from the project root::

    .venv/bin/python bench/onnx_embed.py

The packaged all-MiniLM-L6-v2 is exported from its local files to ONNX (opset 17,
TorchScript exporter; nothing is downloaded), quantised to int8 with ONNX Runtime's
dynamic quantisation, and run with ONNX Runtime on the CPU with the same tokenizer,
mean pooling and normalisation as sentence-transformers. In one run, for each backend:

- one-query latency (what a turn pays), interleaved across backends query by query;
- chunk throughput on the tau2 KB's 1,228 chunks (what ingestion pays);
- dense retrieval quality on the 97 tau2 tasks: exact cosine search over the same chunks,
  documents ranked by their best chunk, MRR@10 / hit@5 against ``required_documents``,
  for the full instructions and for the goal sentence.

The brief accepts a faster path if MRR drops by at most one point (0.01). Writes
``bench/results/onnx.json``; the product keeps PyTorch unless this says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    DATA,
    TENANT,
    WORK,
    console,
    machine,
    perf_services,
    summary,
    table,
    write_result,
)

from evaluations.adapters import goal_sentence, tau2_cases
from state import Settings

ONNX_DIR = WORK / "onnx"


def export(model: Any) -> tuple[Path, Path]:
    """fp32 and int8 ONNX files of the model's transformer (made once, kept in bench/.data)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32, int8 = ONNX_DIR / "minilm.onnx", ONNX_DIR / "minilm-int8.onnx"
    if fp32.exists() and int8.exists():
        return fp32, int8
    ONNX_DIR.mkdir(parents=True, exist_ok=True)
    bert = model[0].auto_model

    class Transformer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = model.tokenizer(
        ["an example", "a longer example sentence"], return_tensors="pt", padding=True
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        Transformer().eval(),
        tuple(sample[n] for n in names),
        str(fp32),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


class OrtEncoder:
    """sentence-transformers' encode (mean pooling, normalised) on ONNX Runtime."""

    def __init__(self, path: Path, tokenizer: Any, max_tokens: int, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # ORT's idle threads spin by default and would slow the PyTorch calls interleaved
        # with them; production would not interleave, so measure without spinning.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        # Longest first, like sentence-transformers: batches of similar length pad less.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        ordered = [texts[i] for i in order]
        out = []
        for start in range(0, len(ordered), batch_size):
            batch = self.tokenizer(
                ordered[start : start + batch_size],
                return_tensors="np",
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
            )
            feed = {
                n: batch[n].astype(np.int64)
                for n in ("input_ids", "attention_mask", "token_type_ids")
            }
            hidden = self.session.run(None, feed)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        vectors = np.concatenate(out)
        result = np.empty_like(vectors)
        result[order] = vectors
        return result


def quality(
    vectors: np.ndarray, doc_ids: list[str], queries: np.ndarray, gold: list[frozenset[str]]
) -> dict[str, float]:
    """MRR@10 and hit@5 of documents ranked by their best chunk (exact cosine)."""
    scores = queries @ vectors.T
    mrr, hit5 = [], []
    for row, want in zip(scores, gold, strict=True):
        ranked: list[str] = []
        for i in np.argsort(-row):
            if doc_ids[i] not in ranked:
                ranked.append(doc_ids[i])
            if len(ranked) == 10:
                break
        rank = next((r for r, d in enumerate(ranked, 1) if d in want), None)
        mrr.append(1 / rank if rank else 0.0)
        hit5.append(float(rank is not None and rank <= 5))
    return {"mrr@10": round(float(np.mean(mrr)), 4), "hit@5": round(float(np.mean(hit5)), 4)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    settings = Settings(_env_file=None, data_dir=WORK / "perf-onnx")
    services = await perf_services(settings)
    try:
        got = await services.kb.stored_chunks(TENANT, ["documents", "metadatas"])
    finally:
        await services.aclose()
    chunks, doc_ids = got["documents"], [m["doc_id"] for m in got["metadatas"]]
    model = services.embeddings.model
    fp32, int8 = export(model)
    threads = torch.get_num_threads()
    backends: dict[str, Any] = {
        "pytorch": lambda texts: model.encode(
            texts,
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ),
        "onnxruntime fp32": OrtEncoder(fp32, model.tokenizer, model.max_seq_length, threads).encode,
        "onnxruntime int8": OrtEncoder(int8, model.tokenizer, model.max_seq_length, threads).encode,
    }
    cases = tau2_cases(DATA)
    full = [c.final_message.text for c in cases]
    gold = [frozenset(c.expected_doc_ids or ()) for c in cases]
    goals = [(goal_sentence(t), g) for t, g in zip(full, gold, strict=True)]
    goals = [(t, g) for t, g in goals if t]
    singles = [t for t, _ in goals] + [t[:200] for t in full]
    latency: dict[str, list[float]] = {name: [] for name in backends}
    for encode in backends.values():  # warm-up
        encode(singles[:3])
    for text in singles[: args.queries]:
        for name, encode in backends.items():
            started = time.perf_counter()
            encode([text])
            latency[name].append((time.perf_counter() - started) * 1000)
    result: dict[str, Any] = {"machine": machine(), "chunks": len(chunks), "backends": {}}
    reference: np.ndarray | None = None
    for name, encode in backends.items():
        started = time.perf_counter()
        vectors = encode(chunks)
        seconds = time.perf_counter() - started
        if reference is None:
            reference = vectors
        q_full = encode(full)
        q_goal = encode([t for t, _ in goals])
        result["backends"][name] = {
            "query_ms": summary(latency[name]),
            "chunks_per_s": round(len(chunks) / seconds, 1),
            "cosine_to_pytorch_min": round(float((vectors * reference).sum(1).min()), 4),
            "tau2_full_instructions": quality(vectors, doc_ids, q_full, gold),
            "tau2_goal_sentence": quality(vectors, doc_ids, q_goal, [g for _, g in goals]),
        }
    base = result["backends"]["pytorch"]
    rows = []
    for name, r in result["backends"].items():
        r["query_p50_vs_pytorch"] = round(r["query_ms"]["p50"] / base["query_ms"]["p50"], 3)
        r["chunks_per_s_vs_pytorch"] = round(r["chunks_per_s"] / base["chunks_per_s"], 3)
        r["mrr_delta_full"] = round(
            r["tau2_full_instructions"]["mrr@10"] - base["tau2_full_instructions"]["mrr@10"], 4
        )
        r["mrr_delta_goal"] = round(
            r["tau2_goal_sentence"]["mrr@10"] - base["tau2_goal_sentence"]["mrr@10"], 4
        )
        rows.append(
            [
                name,
                r["query_ms"]["p50"],
                r["query_p50_vs_pytorch"],
                r["chunks_per_s"],
                r["chunks_per_s_vs_pytorch"],
                r["cosine_to_pytorch_min"],
                r["tau2_full_instructions"]["mrr@10"],
                r["mrr_delta_full"],
                r["tau2_goal_sentence"]["mrr@10"],
                r["mrr_delta_goal"],
            ]
        )
    console.print(
        table(
            f"Embedding backends ({len(chunks)} tau2 chunks; {args.queries} single queries; "
            f"{len(full)} tasks, {len(goals)} with a goal sentence)",
            [
                "backend",
                "query p50 ms",
                "x pytorch",
                "chunks/s",
                "x pytorch",
                "min cos",
                "MRR full",
                "delta",
                "MRR goal",
                "delta",
            ],
            rows,
        )
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    write_result("onnx", asyncio.run(run(args)), args.out)


if __name__ == "__main__":
    main()
