"""Ingestion throughput against raw ``model.encode`` in the same run; unchanged re-ingest.

Run from the project root::

    .venv/bin/python bench/ingest.py

The tau2 banking KB (698 documents) into an empty Chroma directory and a fresh
Postgres database for the application tables (``bench_perf_ingest``): loading, chunking,
embedding, writing to Chroma, the manifest and the abstention calibration, all timed.
Then, in the same process, raw ``model.encode`` on exactly the chunk texts that were
stored (same batch size, normalised): the ratio of the two is how much of the embedding
throughput ingestion keeps. Then the same folder is ingested again, unchanged, three
times (the manifest must make that cost no embedding): median seconds.

Writes ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from _common import (
    ADMIN_URL,
    TAU2,
    WORK,
    bench_database,
    console,
    machine,
    perf_settings,
    table,
    write_result,
)

from tools.services import create_services

TENANT = "bench-ingest"

DB_NAME = "bench_perf_ingest"
"""This benchmark's own database, dropped and recreated per run."""


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = WORK / "perf-ingest"
    shutil.rmtree(data_dir, ignore_errors=True)
    async with bench_database(args.postgres, DB_NAME) as db:
        settings = perf_settings(db, data_dir)
        services = await create_services(settings)
        try:
            embeddings = services.embeddings
            started = time.perf_counter()
            await services.executor.run(lambda: embeddings.model.encode(["warm up"]))
            load_s = time.perf_counter() - started
            report = await services.kb.ingest([TAU2 / "documents"], TENANT)
            texts = (await services.kb.stored_chunks(TENANT, ["documents"]))["documents"]
            started = time.perf_counter()
            await services.executor.run(
                lambda: embeddings.model.encode(
                    texts,
                    batch_size=settings.embedding_batch_size,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
            )
            raw_s = time.perf_counter() - started
            again: list[float] = []
            for _ in range(3):
                embedded = embeddings.documents_embedded
                redo = await services.kb.ingest([TAU2 / "documents"], TENANT)
                again.append(redo.seconds)
                assert embeddings.documents_embedded == embedded, "unchanged KB was re-embedded"
                assert len(redo.unchanged) == len(report.added), redo.as_dict()
        finally:
            await services.aclose()
    ingest_rate = report.chunks_embedded / report.seconds
    raw_rate = len(texts) / raw_s
    result = {
        "machine": machine(),
        "model_load_s": round(load_s, 2),
        "documents": len(report.added),
        "failed": len(report.failed),
        "chunks": len(texts),
        "chunks_embedded": report.chunks_embedded,
        "ingest_s": round(report.seconds, 2),
        "ingest_chunks_per_s": round(ingest_rate, 2),
        "raw_encode_s": round(raw_s, 2),
        "raw_encode_chunks_per_s": round(raw_rate, 2),
        "ingest_over_raw": round(ingest_rate / raw_rate, 3),
        "reingest_unchanged_s": [round(x, 3) for x in again],
        "reingest_unchanged_median_s": round(statistics.median(again), 3),
        "targets": {"ingest_over_raw": 0.85, "reingest_unchanged_s": 2.0},
    }
    console.print(
        table(
            f"Ingesting the tau2 KB ({result['documents']} documents, {len(texts)} chunks)",
            ["", "seconds", "chunks/s", "ratio"],
            [
                [
                    "ingest (load, chunk, embed, Chroma, manifest, calibrate)",
                    result["ingest_s"],
                    result["ingest_chunks_per_s"],
                    result["ingest_over_raw"],
                ],
                [
                    "raw model.encode, same chunks",
                    result["raw_encode_s"],
                    result["raw_encode_chunks_per_s"],
                    1.0,
                ],
                [
                    "re-ingest unchanged (median of 3)",
                    result["reingest_unchanged_median_s"],
                    "",
                    "",
                ],
            ],
        )
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=ADMIN_URL, help=f"admin URL (database {DB_NAME})")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    write_result("ingest", asyncio.run(run(args)), args.out)


if __name__ == "__main__":
    main()
