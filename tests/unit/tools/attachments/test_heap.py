"""A large file's freed memory is handed back; small files cost nothing."""

from __future__ import annotations

import threading
import time

from tools.attachments import heap


def test_only_large_files_schedule_a_trim(monkeypatch):
    trimmed = threading.Event()
    monkeypatch.setattr(heap, "trim_now", trimmed.set)
    monkeypatch.setattr(heap, "TRIM_DELAY_S", 0.01)
    assert heap.trim_soon(10_000) is False
    time.sleep(0.05)
    assert not trimmed.is_set()
    if not heap.can_trim():  # not glibc: nothing to hand back
        assert heap.trim_soon(heap.LARGE_FILE_BYTES) is False
        return
    assert heap.trim_soon(heap.LARGE_FILE_BYTES) is True
    assert trimmed.wait(2)
