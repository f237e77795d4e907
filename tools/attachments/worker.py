"""The conversion fork server (``python -m tools.attachments.worker``) and what its children do.

The server imports the parsers once, then reads requests from stdin and forks
one child per file, so each conversion starts in a fresh process with
everything loaded (a fork costs milliseconds; importing markitdown a second).
Inside the child, before the file is touched: an address-space and CPU limit,
no file writes and no network (every socket connect and DNS lookup raises).
Page and row counts are checked before the full conversion.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a payload.
A request is a JSON header frame then a frame of the file's bytes. Replies are
JSON only (never pickle: a child that parsed a hostile file is not trusted):
``{"pid"}`` when the child starts, the child's ``{"ok", ...}`` result, then
``{"exit", "timed_out"}`` with its wait status. The server enforces the
timeout itself (it owns the child's pid, so the kill cannot hit a reused pid).
Never import this module into the agent's own process except for its pure
frame helpers.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import resource
import select
import signal
import socket
import sys
import zipfile
from collections.abc import Callable
from typing import Any

__all__ = ["ConversionRefused", "convert_markitdown", "read_frame", "serve", "write_frame"]

_EXTENSIONS = {
    "pdf": ".pdf",
    "docx": ".docx",
    "xlsx": ".xlsx",
    "xls": ".xls",
    "pptx": ".pptx",
    "html": ".html",
    "csv": ".csv",
    "txt": ".txt",
    "markdown": ".md",
    "json": ".json",
    "xml": ".xml",
    "epub": ".epub",
    "outlook": ".msg",
}

_MARKITDOWN: Any = None
"""The fork server's converter, built once before any fork (see ``_preload``)."""


def _preload() -> None:
    """Import the parsers and build markitdown once, in the fork server only.

    markitdown's type detector (magika) is an ONNX Runtime session; a session with
    worker threads does not survive ``fork``. Sessions made here are single-threaded,
    so every child can use the server's converter instead of loading the model again
    (about 100 ms per file).
    """
    global _MARKITDOWN
    import onnxruntime  # type: ignore[import-untyped]
    import pdfminer.high_level  # noqa: F401
    from markitdown import MarkItDown

    make_session = onnxruntime.InferenceSession

    def single_threaded(*args: Any, sess_options: Any = None, **kwargs: Any) -> Any:
        options = sess_options or onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return make_session(*args, sess_options=options, **kwargs)

    onnxruntime.InferenceSession = single_threaded
    _MARKITDOWN = MarkItDown(enable_plugins=False)


class ConversionRefused(Exception):
    """The file is over a page or row limit (a clear message, not a crash)."""


def _no_network(*_args: Any, **_kwargs: Any) -> Any:
    raise PermissionError("network access is disabled while converting attachments")


def _address_space() -> int:
    """Bytes of address space this process already maps (the preloaded parsers)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _isolate(memory_mb: int, cpu_s: int) -> None:
    """Limits of this process; applied before any byte of the file is parsed.

    The memory budget is on top of what the preloaded parsers already map, so
    ``memory_mb`` is what one conversion may add, whatever the baseline.
    """
    memory = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with an error, not a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # writes no files
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    socket.socket.connect_ex = _no_network  # type: ignore[method-assign]
    socket.create_connection = _no_network
    socket.getaddrinfo = _no_network


def _count_pages(data: bytes, detected: str) -> tuple[str, int] | None:
    if detected == "pdf":
        from pdfminer.pdfpage import PDFPage

        return "pages", sum(1 for _ in PDFPage.get_pages(io.BytesIO(data)))
    if detected == "pptx":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            slides = [n for n in archive.namelist() if n.startswith("ppt/slides/slide")]
        return "slides", len(slides)
    return None


def _count_rows(data: bytes, detected: str, limit: int) -> int | None:
    if detected == "csv":
        return data.count(b"\n") + 1
    if detected == "xlsx":
        from openpyxl import load_workbook  # type: ignore[import-untyped]

        # Counted by reading, never from the optional <dimension> a hostile file can omit;
        # stops one past the limit, so a million-row sheet costs no more than the limit.
        workbook = load_workbook(io.BytesIO(data), read_only=True)
        rows = 0
        try:
            for sheet in workbook.worksheets:
                for _ in sheet.iter_rows(values_only=True):
                    rows += 1
                    if rows > limit:
                        return rows
            return rows
        finally:
            workbook.close()
    if detected == "xls":
        import xlrd  # type: ignore[import-untyped]

        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        return sum(book.sheet_by_index(i).nrows for i in range(book.nsheets))
    return None


def _describe_image(data: bytes, detected: str) -> dict[str, Any]:
    """An image's metadata: its format and size (no OCR engine ships)."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            width, height = image.size
        text = f"Image ({detected.upper()}, {width}×{height} pixels). Its content was not read."
        return {"markdown": text, "title": None, "details": {"width": width, "height": height}}
    except Exception:  # metadata is optional: an unreadable header still stores the file
        return {
            "markdown": f"Image ({detected.upper()}). Its content was not read.",
            "title": None,
            "details": {},
        }


def convert_markitdown(data: bytes, detected: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Markdown of ``data``, read as the detected type (never as what its name claims)."""
    if detected in limits.get("image_types", ()):
        return _describe_image(data, detected)
    details: dict[str, Any] = {}
    pages = _count_pages(data, detected)
    if pages is not None:
        unit, count = pages
        details[unit] = count
        if count > limits["max_pages"]:
            raise ConversionRefused(
                f"it has {count:,} {unit}, over the {limits['max_pages']:,} limit"
            )
    rows = _count_rows(data, detected, limits["max_rows"])
    if rows is not None:
        details["rows"] = rows
        if rows > limits["max_rows"]:
            raise ConversionRefused(f"it has more rows than the {limits['max_rows']:,} I can read")
    from markitdown import MarkItDown, StreamInfo

    converter = _MARKITDOWN or MarkItDown(enable_plugins=False)
    extension = _EXTENSIONS.get(detected, ".txt")
    result = converter.convert_stream(io.BytesIO(data), stream_info=StreamInfo(extension=extension))
    return {"markdown": result.markdown or "", "title": result.title, "details": details}


def _resolve(path: str) -> Callable[[bytes, str, dict[str, Any]], dict[str, Any]]:
    module, _, name = path.partition(":")
    function: Callable[[bytes, str, dict[str, Any]], dict[str, Any]] = getattr(
        importlib.import_module(module), name
    )
    return function


def write_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed frame to ``fd``."""
    view = memoryview(len(payload).to_bytes(4, "big") + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes:
    """Read one length-prefixed frame from ``fd`` (blocking)."""
    return _read_exact(fd, int.from_bytes(_read_exact(fd, 4), "big"))


def _convert_in_child(data: bytes, request: dict[str, Any]) -> dict[str, Any]:
    """Convert under limits; failures become ``{"ok": False, "kind", "error", "detail"}``.

    ``error`` is written for the customer; ``detail`` (the parser's own message) is
    for logs only, as it may name internal paths.
    """
    limits = request["limits"]
    try:
        _isolate(limits["memory_mb"], int(limits["timeout_s"]) + 1)
        sys.setrecursionlimit(5000)
        return {"ok": True, **_resolve(request["converter"])(data, request["detected"], limits)}
    except ConversionRefused as refused:
        return {"ok": False, "kind": "limit", "error": str(refused)}
    except MemoryError:
        return {"ok": False, "kind": "memory", "error": "it needs more memory than a file may use"}
    except RecursionError:
        return {"ok": False, "kind": "malformed", "error": "it is nested too deeply to read"}
    except BaseException as exc:  # the file's problem: a fixed sentence, details in the log
        return {
            "ok": False,
            "kind": "malformed",
            "error": "it seems damaged, or is in a form I can't read",
            "detail": f"{type(exc).__name__}: {exc}"[:300],
        }


def _wait(pid: int, timeout_s: float) -> tuple[int, bool]:
    """(Wait status, timed out): the child is killed at ``timeout_s``.

    The server reaps the child itself, so the pid cannot be reused before the kill.
    """
    timed_out = False
    with contextlib.suppress(OSError):  # no pidfd on this kernel: the agent's deadline applies
        pidfd = os.pidfd_open(pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout_s)
        finally:
            os.close(pidfd)
        if not ready:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return status, timed_out


def serve() -> None:
    """Serve conversion requests until stdin closes (the agent exited).

    The protocol moves to private descriptors and fds 0 and 1 point at /dev/null, so a
    parser that prints (or reads stdin) cannot corrupt the frames.
    """
    requests, replies = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    _preload()
    while True:
        try:
            request = json.loads(read_frame(requests))
            data = read_frame(requests)
        except EOFError:
            return
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: wait until the server has announced us, then convert
            try:
                os.close(go_write)
                os.close(requests)
                os.read(go_read, 1)
                result = _convert_in_child(data, request)
                try:
                    payload = json.dumps(result, default=str).encode()
                except (TypeError, ValueError):
                    payload = b'{"ok": false, "kind": "malformed", "error": "unreadable result"}'
                write_frame(replies, payload)
            finally:
                os._exit(0)
        os.close(go_read)
        write_frame(replies, json.dumps({"pid": pid}).encode())
        os.write(go_write, b"1")
        os.close(go_write)
        status, timed_out = _wait(pid, float(request["limits"]["timeout_s"]))
        write_frame(replies, json.dumps({"exit": status, "timed_out": timed_out}).encode())


if __name__ == "__main__":
    # Run the imported module's ``serve``, not this ``__main__`` copy, so converters named
    # by module path share its globals and exception classes.
    from tools.attachments.worker import serve as serve_imported

    serve_imported()
