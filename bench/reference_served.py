"""The reference graphs of ``bench/_reference_graph.py``, for a server to serve.

``bench/server_throughput.py --graph reference`` serves ``graph`` (the agent's shape:
every node empty but the search, which does the floor's work) in place of the agent,
under the same Aegra, auth handler and HTTP app, to show what two workers give on this
machine to a graph that does nothing else. ``SUPPORT_REFERENCE_TENANT`` names the
collection searched (the tau2 KB's tenant by default).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # last: bench/ shadows nothing

from _reference_graph import build_reference

from tools.services import LazyServices

_services = LazyServices()

graph = build_reference(
    _services.get, os.environ.get("SUPPORT_REFERENCE_TENANT", "bench-tau2"), "agent's shape"
).compile(name="reference")
