"""Materials in S3: presigned POSTs bound by policy, inspection of what arrived, presigned GETs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ..ports import PresignedPost, StoredObject

_CHUNK = 1024 * 1024


class S3FileStore:
    def __init__(self, client: Any, bucket: str, kms_key_id: str = "") -> None:
        self._s3 = client
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def upload_policy(self, key: str, content_type: str, max_size: int) -> tuple[dict[str, str], list[Any]]:
        """The fields and conditions of the POST policy. S3 enforces them in AWS; moto does not, so
        they are unit-tested here and the verifier re-checks size and type on arrival."""
        fields = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"bucket": self._bucket},
            {"key": key},
            {"Content-Type": content_type},
            ["content-length-range", 1, max_size],
        ]
        if self._kms_key_id:
            fields["x-amz-server-side-encryption"] = "aws:kms"
            fields["x-amz-server-side-encryption-aws-kms-key-id"] = self._kms_key_id
            conditions += [{"x-amz-server-side-encryption": "aws:kms"},
                           {"x-amz-server-side-encryption-aws-kms-key-id": self._kms_key_id}]
        return fields, conditions

    def presigned_post(self, key: str, content_type: str, max_size: int, expires_in: int) -> PresignedPost:
        fields, conditions = self.upload_policy(key, content_type, max_size)
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in)
        expires_at = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat(timespec="seconds")
        return PresignedPost(url=post["url"], fields=post["fields"], key=key, expires_at=expires_at,
                             max_size=max_size)

    def inspect(self, key: str, head_bytes: int) -> StoredObject | None:
        """Size, declared type, first bytes and SHA-256, streamed in chunks (never the whole file in memory)."""
        try:
            obj = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        digest = hashlib.sha256()
        head = b""
        body = obj["Body"]
        try:
            for chunk in iter(lambda: body.read(_CHUNK), b""):
                if len(head) < head_bytes:
                    head += chunk[: head_bytes - len(head)]
                digest.update(chunk)
        finally:
            body.close()
        return StoredObject(size=int(obj["ContentLength"]), head=head,
                            content_type=obj.get("ContentType", ""), sha256=digest.hexdigest())

    def presigned_get(self, key: str, expires_in: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in)
        return url
