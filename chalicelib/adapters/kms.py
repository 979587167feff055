"""KMS protection of personal data and secrets.

`KmsCipher`: envelope encryption — a fresh AES-256 data key per value from KMS GenerateDataKey, the
value sealed locally with AES-GCM; the encryption context binds the ciphertext to its owner both
in KMS (the data key only decrypts under that context) and in AES-GCM (as associated data).
`KmsBlindIndex`: an HMAC kept inside KMS (GenerateMac) so an ID number can be found without being
stored readable; the purpose is mixed in, so an index of one kind never matches another.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

_FORMAT = "v1"


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


class KmsCipher:
    def __init__(self, client: Any, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id
        self._data_keys: dict[tuple[bytes, bytes], bytes] = {}

    def encrypt(self, plaintext: str, context: dict[str, str]) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        resp = self._kms.generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context)
        nonce = os.urandom(12)
        sealed = AESGCM(resp["Plaintext"]).encrypt(nonce, plaintext.encode(), _aad(context))
        wrapped = base64.b64encode(resp["CiphertextBlob"]).decode()
        return f"{_FORMAT}.{wrapped}.{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, ciphertext: str, context: dict[str, str]) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        version, wrapped, sealed = ciphertext.split(".")
        if version != _FORMAT:
            raise ValueError(f"unknown ciphertext format {version!r}")
        blob, raw = base64.b64decode(wrapped), base64.b64decode(sealed)
        # A warm container unwraps a data key once (webhook secrets are read on every delivery).
        cache_key = (blob, _aad(context))
        key = self._data_keys.get(cache_key)
        if key is None:
            key = self._kms.decrypt(CiphertextBlob=blob, EncryptionContext=context, KeyId=self._key_id)["Plaintext"]
            if len(self._data_keys) > 256:
                self._data_keys.clear()
            self._data_keys[cache_key] = key
        return AESGCM(key).decrypt(raw[:12], raw[12:], _aad(context)).decode()


class KmsBlindIndex:
    def __init__(self, client: Any, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id

    def index(self, purpose: str, value: str) -> str:
        if not self._key_id:
            raise RuntimeError("ONETRIP_BLIND_INDEX_KEY_ID is not configured")
        mac = self._kms.generate_mac(KeyId=self._key_id, MacAlgorithm="HMAC_SHA_256",
                                     Message=f"{purpose}\x1f{value}".encode())["Mac"]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")
