"""Encryption at rest for customers' words: memories, and the attachments that reuse its keys.

Content is encrypted with MultiFernet (newest key first, so keys rotate) and the
dedup hash is an HMAC keyed from the newest key, so neither reveals the content.
Without keys, content is stored as it is and hashed with plain SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

__all__ = ["MemoryCrypto", "normalise"]


def normalise(text: str) -> str:
    """Lower-cased, punctuation-free, single-spaced: the form that is hashed."""
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


class MemoryCrypto:
    """Encrypts content and keys hashes when keys are configured; plain SHA-256 otherwise."""

    def __init__(self, keys: str | None) -> None:
        self.keys = [k.strip() for k in (keys or "").split(",") if k.strip()]
        self._fernet: Any = None
        if self.keys:
            from cryptography.fernet import Fernet, MultiFernet

            self._fernet = MultiFernet([Fernet(k.encode()) for k in self.keys])
            self._hmac_keys = [
                hashlib.sha256(b"memory-hash:" + key.encode()).digest() for key in self.keys
            ]

    @property
    def enabled(self) -> bool:
        """Whether content is encrypted at rest."""
        return self._fernet is not None

    def encrypt(self, text: str) -> str:
        """Ciphertext (or the text itself without keys)."""
        return self._fernet.encrypt(text.encode()).decode() if self._fernet else text

    def decrypt(self, stored: str) -> str:
        """Plain text of stored content (any configured key can decrypt)."""
        return self._fernet.decrypt(stored.encode()).decode() if self._fernet else stored

    def rotate(self, stored: str) -> str:
        """Re-encrypt with the newest key."""
        return self._fernet.rotate(stored.encode()).decode() if self._fernet else stored

    def digest(self, text: str) -> str:
        """The dedup hash of normalised content (HMAC keyed from the newest key)."""
        return self.digests(text)[0]

    def digests(self, text: str) -> list[str]:
        """The hash under every configured key, newest first (matches survive rotation)."""
        data = normalise(text).encode()
        if self._fernet is None:
            return [hashlib.sha256(data).hexdigest()]
        return [hmac.new(key, data, hashlib.sha256).hexdigest() for key in self._hmac_keys]
