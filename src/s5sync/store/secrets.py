"""Secrets at rest (R22): token caches, System Five connections and auth flows are
encrypted with cryptography's MultiFernet — the newest key encrypts, every key decrypts,
and `rotate` re-encrypts with the newest (`s5sync keys rotate`)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretUnreadable(Exception):
    """A stored secret was encrypted with a key that is no longer configured."""


class SecretBox:
    """Encrypts and decrypts text with the configured keys, newest first."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured S5SYNC_SECRET_KEYS"
            ) from None

    def rotate(self, token: bytes) -> bytes:
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured S5SYNC_SECRET_KEYS"
            ) from None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()
