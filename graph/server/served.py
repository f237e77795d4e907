"""The graph ``langgraph.json`` and ``aegra.json`` serve, warmed while the server starts.

The first customer's run would otherwise load the embedding model (about 4 s on two
cores: torch and the model) inside their turn. Imported off an event loop (``langgraph
dev`` imports graphs in a worker thread while it starts; ``aegra.json``'s HTTP app
imports this module as Aegra starts), the model is loaded right here, so the server
is ready when it is warm. Imported on a running loop, the blocking work goes to a
daemon thread instead, so the dev server's blocking-call detection never sees it.
The services' own (async) start-up is quick after it.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from graph.builder import graph

__all__ = ["graph", "warm_up"]

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Load the embedding model and the stores' libraries (blocking; a failure only logs)."""
    try:
        import chromadb  # noqa: F401  (the knowledge base's store)

        from state import get_settings
        from tools.embeddings.sentence import load_model, packaged_model_path

        path = get_settings().embedding_model_path or packaged_model_path()
        load_model(path).encode(["warm up"])
    except Exception as exc:  # the first turn loads them instead, and reports a real error
        logger.warning("warm-up skipped: %s", exc)


try:
    asyncio.get_running_loop()
except RuntimeError:
    warm_up()
else:
    threading.Thread(target=warm_up, name="support-agent-warm-up", daemon=True).start()
