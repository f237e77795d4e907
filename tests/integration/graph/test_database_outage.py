"""A database outage: a clear error within seconds, and the first turn after it works.

The agent reaches Postgres through a TCP proxy the test owns: closing the proxy is the
outage (live connections cut, new ones refused), reopening it is the database coming
back. The real Postgres serves other tests undisturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from graph.embedded import open_agent
from state import Settings
from tools.resilience.errors import StoreUnavailableError
from tools.services import create_services

pytestmark = pytest.mark.integration


class Proxy:
    """Forwards 127.0.0.1:<port> to Postgres until closed; can open again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.pipes):
            task.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        for task in (
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ):
            self.pipes.add(task)
            task.add_done_callback(self.pipes.discard)


@pytest.fixture
async def proxied(sample_kb_data, embeddings, postgres_url):
    """The agent's services on Postgres through a proxy the test can close and reopen."""
    host_port = postgres_url.split("@")[-1].split("/")[0]
    target = int(host_port.rsplit(":", 1)[1]) if ":" in host_port else 5432
    proxy = Proxy(target)
    await proxy.open()
    via_proxy = postgres_url.replace(host_port, f"127.0.0.1:{proxy.port}")
    settings = Settings(
        _env_file=None, data_dir=sample_kb_data, checkpointer="postgres", postgres_url=via_proxy
    )
    services = await create_services(settings, embeddings=embeddings)
    try:
        yield proxy, services
    finally:
        await services.aclose()
        with contextlib.suppress(Exception):
            await proxy.close()


async def test_an_outage_is_a_clear_error_and_the_next_turn_after_it_succeeds(proxied):
    proxy, services = proxied
    async with open_agent(services=services) as agent:
        first = await agent.ask("My Lumora Lock bolt is jammed", user_id="outage-user")
        assert first.outcome == "answered"

        await proxy.close()  # the database goes away
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="conversation store is unavailable"):
            await agent.ask(
                "What batteries does it take?", thread_id=first.thread_id, user_id="outage-user"
            )
        # Fails fast (pool wait and connect timeouts), not after the old 30 s.
        assert time.monotonic() - started < 15

        await proxy.open()  # the database is back, same address
        after = await agent.ask(
            "What batteries does it take?", thread_id=first.thread_id, user_id="outage-user"
        )
        assert after.outcome == "answered"
        history = [role for role, _ in await agent.history(first.thread_id)]
        assert history[:2] == ["human", "ai"] and history[-2:] == ["human", "ai"]


async def test_a_turn_cut_off_by_the_outage_leaves_no_unanswered_question(proxied, monkeypatch):
    """The database dies mid-turn, after the customer's message was checkpointed."""
    import graph.nodes.route as route

    proxy, services = proxied
    intents = route._intents

    async def outage_during_route(*args, **kwargs):
        await proxy.close()
        return await intents(*args, **kwargs)

    async with open_agent(services=services) as agent:
        first = await agent.ask("My Lumora Lock bolt is jammed", user_id="cut-user")
        monkeypatch.setattr(route, "_intents", outage_during_route)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            await agent.ask(
                "What batteries does it take?", thread_id=first.thread_id, user_id="cut-user"
            )
        # Within the turn deadline: the remaining writes do not each wait long.
        assert time.monotonic() - started < services.settings.turn_deadline_s
        monkeypatch.undo()
        await proxy.open()
        # What the cut turn checkpointed before the database went away:
        left = [role for role, _ in await agent.history(first.thread_id)]
        assert left == ["human", "ai", "human"]
        after = await agent.ask(
            "Which batteries does the Lumora Lock take?",
            thread_id=first.thread_id,
            user_id="cut-user",
        )
        assert after.outcome == "answered"
        history = await agent.history(first.thread_id)
        assert [role for role, _ in history] == ["human", "ai", "human", "ai"]
        assert history[2][1] == "Which batteries does the Lumora Lock take?"
