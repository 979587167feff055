"""KMS encryption of personal data and secrets, each ciphertext bound to its owner by encryption context."""

from __future__ import annotations

import base64
from typing import Any


class KmsCipher:
    def __init__(self, client: Any, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id
        self._plain_cache: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def encrypt(self, plaintext: str, context: dict[str, str]) -> str:
        resp = self._kms.encrypt(KeyId=self._key_id, Plaintext=plaintext.encode(), EncryptionContext=context)
        return base64.b64encode(resp["CiphertextBlob"]).decode()

    def decrypt(self, ciphertext: str, context: dict[str, str]) -> str:
        # A warm container decrypts a webhook secret once, not once per delivery.
        cache_key = (ciphertext, tuple(sorted(context.items())))
        if cache_key not in self._plain_cache:
            resp = self._kms.decrypt(CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=context,
                                     KeyId=self._key_id)
            if len(self._plain_cache) > 256:
                self._plain_cache.clear()
            self._plain_cache[cache_key] = resp["Plaintext"].decode()
        return self._plain_cache[cache_key]
