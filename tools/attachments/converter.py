"""Attachment conversion in separate processes, so a hostile file cannot hang or kill the agent.

Conversions go to a small pool of fork servers (``python -m tools.attachments.worker``),
each with the parsers preloaded; every file is converted by a fresh child of
one of them, under an address-space and CPU limit, with file writes and the
network disabled. At the wall-clock timeout the fork server kills the child
and carries on (the agent keeps a later
deadline of its own, and discards a server that misses it). A server that
misbehaves is discarded and replaced. The fork servers get no secrets from
the agent's environment. Blocking: call ``convert`` from the executor.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from state.attachment_limits import IMAGE_TYPES, AttachmentLimits

__all__ = ["Conversion", "IsolatedConverter"]

logger = logging.getLogger(__name__)

DEFAULT_CONVERTER = "tools.attachments.worker:convert_markitdown"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_MAX_REPLY_BYTES = 64 * 1024 * 1024
_SAFE_ENVIRONMENT = frozenset({"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ"})
_SLACK_S = 10.0
"""How long past the timeout the fork server may take to report a killed child."""


@dataclass(frozen=True)
class Conversion:
    """What the conversion produced, or why it failed (``kind``: timeout, memory, ...)."""

    ok: bool
    markdown: str = ""
    title: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None
    error: str | None = None
    """For the customer."""
    detail: str | None = None
    """For logs and the stored record: the parser's own message, or how the child died."""


class _ServerGone(Exception):
    """The fork server stopped answering or broke the protocol."""


class _ForkServer:
    """One ``tools.attachments.worker`` process and its pipes."""

    def __init__(self) -> None:
        # Hostile files are parsed in its children: no secrets from the agent's environment.
        env = {k: v for k, v in os.environ.items() if k in _SAFE_ENVIRONMENT}
        env["PYTHONPATH"] = os.pathsep.join([str(_PROJECT_ROOT), *sys.path])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.attachments.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=_PROJECT_ROOT,
            start_new_session=True,  # a Ctrl-C in the terminal is the agent's, not the child's
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in = self.process.stdin.fileno()
        self._out = self.process.stdout.fileno()

    def send(self, header: dict[str, Any], data: bytes) -> None:
        from tools.attachments.worker import write_frame

        write_frame(self._in, json.dumps(header).encode())
        write_frame(self._in, data)

    def receive(self, deadline: float | None) -> dict[str, Any] | None:
        """The next reply, or None if ``deadline`` (monotonic) passes first."""
        header = self._read(4, deadline)
        if header is None:
            return None
        size = int.from_bytes(header, "big")
        if size > _MAX_REPLY_BYTES:
            raise _ServerGone(f"reply of {size} bytes")
        body = self._read(size, None if deadline is None else max(deadline, time.monotonic() + 5))
        if body is None:
            raise _ServerGone("reply cut short")
        try:
            reply = json.loads(body)
        except ValueError as exc:
            raise _ServerGone("unreadable reply") from exc
        if not isinstance(reply, dict):
            raise _ServerGone("reply is not an object")
        return reply

    def _read(self, size: int, deadline: float | None) -> bytes | None:
        chunks: list[bytes] = []
        while size:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._out], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self._out, size)
            if not chunk:
                raise _ServerGone("server exited")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.wait(2)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]


class IsolatedConverter:
    """Converts bytes to Markdown in child processes with limits; thread-safe."""

    def __init__(self, limits: AttachmentLimits, converter: str = DEFAULT_CONVERTER) -> None:
        self.limits = limits
        self.converter = converter
        self._idle: queue.LifoQueue[_ForkServer] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(limits.max_concurrent)
        self._closed = False

    def convert(self, data: bytes, detected: str) -> Conversion:
        """Convert ``data`` read as ``detected``; never raises for a bad file."""
        if self._closed:
            return Conversion(False, kind="unavailable", error="file reading is shut down")
        with self._slots:
            try:
                server, pooled = self._idle.get_nowait(), True
            except queue.Empty:
                server, pooled = _ForkServer(), False
            try:
                conversion, reusable = self._run(server, data, detected)
            except Exception as exc:  # the server broke the protocol or died: replace it
                logger.warning("attachment fork server discarded: %s", exc)
                server.close()
                if not pooled:
                    return Conversion(
                        False, kind="crashed", error="reading it crashed the converter"
                    )
                # A pooled server can have died since its last file (killed, or broken by
                # the file before): this file deserves a fresh one before it is refused.
                server = _ForkServer()
                try:
                    conversion, reusable = self._run(server, data, detected)
                except Exception as again:
                    logger.warning("attachment fork server discarded: %s", again)
                    server.close()
                    return Conversion(
                        False, kind="crashed", error="reading it crashed the converter"
                    )
            if reusable and not self._closed:
                self._idle.put(server)
            else:
                server.close()
            return conversion

    def _run(self, server: _ForkServer, data: bytes, detected: str) -> tuple[Conversion, bool]:
        header = {
            "detected": detected,
            "converter": self.converter,
            "limits": {
                "memory_mb": self.limits.memory_mb,
                "timeout_s": self.limits.timeout_s,
                "max_pages": self.limits.max_pages,
                "max_rows": self.limits.max_rows,
                "image_types": list(IMAGE_TYPES),
            },
        }
        timed_out = Conversion(
            False, kind="timeout", error=f"reading it took longer than {self.limits.timeout_s:g} s"
        )
        server.send(header, data)
        if server.receive(time.monotonic() + 30) is None:  # {"pid"}: the fork itself
            raise _ServerGone("no child started")
        reply = server.receive(time.monotonic() + self.limits.timeout_s + _SLACK_S)
        if reply is None:  # the server did not enforce the timeout: do not trust it again
            return timed_out, False
        if "exit" in reply:  # died before answering: timed out, killed by a limit, or crashed
            if reply.get("timed_out"):
                return timed_out, True
            death = _describe(int(reply["exit"]))
            logger.warning("attachment conversion died: %s", death)
            crashed = Conversion(
                False, kind="crashed", error="reading it crashed the converter", detail=death
            )
            return crashed, True
        self._await_exit(server)
        if not reply.get("ok"):
            detail = str(reply["detail"]) if reply.get("detail") else None
            if detail:
                logger.info("attachment not converted: %s", detail)
            failed = Conversion(
                False,
                kind=str(reply.get("kind") or "malformed"),
                error=str(reply.get("error") or "it could not be read"),
                detail=detail,
            )
            return failed, True
        markdown = str(reply.get("markdown") or "").strip()
        details = dict(reply.get("details") or {})
        if len(markdown) > self.limits.max_markdown_chars:
            details["truncated_from_chars"] = len(markdown)
            markdown = markdown[: self.limits.max_markdown_chars]
        title = reply.get("title")
        return Conversion(True, markdown, str(title) if title else None, details), True

    def _await_exit(self, server: _ForkServer) -> None:
        reply = server.receive(time.monotonic() + self.limits.timeout_s + _SLACK_S)
        if reply is None or "exit" not in reply:
            raise _ServerGone("child did not exit")

    def close(self) -> None:
        """Stop every fork server (their children die with them or have already exited)."""
        self._closed = True
        while not self._idle.empty():
            self._idle.get_nowait().close()


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        signal_number = os.WTERMSIG(status)
        name = signal.Signals(signal_number).name if signal_number in signal.valid_signals() else ""
        return f"killed by {name or signal_number}"
    return f"exit code {os.WEXITSTATUS(status)}"
