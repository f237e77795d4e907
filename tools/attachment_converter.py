"""Attachment conversion in separate processes, so a hostile file cannot hang or kill the agent.

Conversions go to a small pool of fork servers (``python -m tools.attachment_worker``),
each with the parsers preloaded; every file is converted by a fresh child of
one of them, under an address-space and CPU limit, with file writes and the
network disabled. This side enforces the wall-clock timeout: when it passes,
the child is killed and its server carries on. A server that misbehaves is
discarded and replaced. Blocking: call ``convert`` from the executor.
"""

from __future__ import annotations

import contextlib
import json
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

DEFAULT_CONVERTER = "tools.attachment_worker:convert_markitdown"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_MAX_REPLY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Conversion:
    """What the conversion produced, or why it failed (``kind``: timeout, memory, ...)."""

    ok: bool
    markdown: str = ""
    title: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None
    error: str | None = None


class _ServerGone(Exception):
    """The fork server stopped answering or broke the protocol."""


class _ForkServer:
    """One ``tools.attachment_worker`` process and its pipes."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_PROJECT_ROOT), *sys.path])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.attachment_worker"],
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
        from tools.attachment_worker import write_frame

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
            reply: dict[str, Any] = json.loads(body)
        except ValueError as exc:
            raise _ServerGone("unreadable reply") from exc
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

    def warm_up(self) -> None:
        """Start one fork server now, so the first customer file does not wait for it."""
        with self._slots:
            if self._idle.empty():
                self._idle.put(_ForkServer())

    def convert(self, data: bytes, detected: str) -> Conversion:
        """Convert ``data`` read as ``detected``; never raises for a bad file."""
        if self._closed:
            return Conversion(False, kind="unavailable", error="conversion is shut down")
        with self._slots:
            server = self._idle.get_nowait() if not self._idle.empty() else _ForkServer()
            try:
                conversion = self._run(server, data, detected)
            except (_ServerGone, OSError) as exc:
                server.close()
                return Conversion(False, kind="crashed", error=f"the converter failed ({exc})")
            self._idle.put(server)
            return conversion

    def _run(self, server: _ForkServer, data: bytes, detected: str) -> Conversion:
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
        server.send(header, data)
        started = server.receive(time.monotonic() + 30)  # the fork itself
        if started is None or "pid" not in started:
            raise _ServerGone("no child started")
        pid = int(started["pid"])
        reply = server.receive(time.monotonic() + self.limits.timeout_s)
        if reply is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._await_exit(server)
            return Conversion(
                False,
                kind="timeout",
                error=f"reading it took longer than {self.limits.timeout_s:g} s",
            )
        if "exit" in reply:  # died before answering: killed by a limit, or crashed
            return Conversion(
                False, kind="crashed", error=f"the converter stopped ({_describe(reply['exit'])})"
            )
        self._await_exit(server)
        if not reply.get("ok"):
            return Conversion(False, kind=reply.get("kind"), error=reply.get("error"))
        markdown = str(reply.get("markdown") or "").strip()
        details = dict(reply.get("details") or {})
        if len(markdown) > self.limits.max_markdown_chars:
            details["truncated_from_chars"] = len(markdown)
            markdown = markdown[: self.limits.max_markdown_chars]
        title = reply.get("title")
        return Conversion(True, markdown, str(title) if title else None, details)

    @staticmethod
    def _await_exit(server: _ForkServer) -> None:
        reply = server.receive(time.monotonic() + 10)
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
