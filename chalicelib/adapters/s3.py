"""Materials in S3: presigned POSTs bound by policy, inspection of what arrived, presigned GETs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ..ports import PresignedPost, StoredObject

# Verified copies: upload policies are bound to `materials/<application>/`, so nothing writes here.
SEALED_PREFIX = "verified/"
_CHUNK = 1024 * 1024
# Rejected objects are kept here for 90 days (the bucket's lifecycle rule) and never served.
QUARANTINE_PREFIX = "quarantine/"


class S3FileStore:
    def __init__(self, client: Any, bucket: str, kms_key_id: str = "") -> None:
        self._s3 = client
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def upload_policy(self, key: str, content_type: str, max_size: int,
                      key_prefix: str | None = None) -> tuple[dict[str, str], list[Any]]:
        """The fields and conditions of the POST policy. S3 enforces them in AWS; moto does not, so
        they are unit-tested here and the verifier re-checks size, type and key on arrival.

        The exact key is what binds a policy to one upload: with only `starts-with` the holder could
        write any key under the application, over another slot's already verified object. The prefix
        condition is kept as a second bound S3 checks independently (a regression that loosened the
        key condition still could not leave the application's prefix)."""
        if key_prefix is not None and not (key_prefix.endswith("/") and key.startswith(key_prefix)):
            raise ValueError("the key must lie inside its prefix, and the prefix must end with '/'")
        fields = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"bucket": self._bucket},
            {"key": key},
            *([["starts-with", "$key", key_prefix]] if key_prefix else []),
            {"Content-Type": content_type},
            ["content-length-range", 1, max_size],
        ]
        if self._kms_key_id:
            fields["x-amz-server-side-encryption"] = "aws:kms"
            fields["x-amz-server-side-encryption-aws-kms-key-id"] = self._kms_key_id
            conditions += [{"x-amz-server-side-encryption": "aws:kms"},
                           {"x-amz-server-side-encryption-aws-kms-key-id": self._kms_key_id}]
        return fields, conditions

    def presigned_post(self, key: str, content_type: str, max_size: int, expires_in: int,
                       key_prefix: str | None = None) -> PresignedPost:
        fields, conditions = self.upload_policy(key, content_type, max_size, key_prefix)
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in)
        expires_at = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat(timespec="seconds")
        return PresignedPost(url=post["url"], fields=post["fields"], key=key, expires_at=expires_at,
                             max_size=max_size)

    def inspect(self, key: str, head_bytes: int, keep_bytes: int = 0) -> StoredObject | None:
        """Size, declared type, first bytes and SHA-256, streamed in chunks. The content itself is kept
        (for the deep checks) only when the object is not larger than `keep_bytes`: a file over its
        spec's limit is judged by its size and head alone, never held in memory."""
        try:
            obj = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        size = int(obj["ContentLength"])
        keep = 0 < size <= keep_bytes
        digest = hashlib.sha256()
        head = b""
        kept = bytearray()
        body = obj["Body"]
        try:
            for chunk in iter(lambda: body.read(_CHUNK), b""):
                if len(head) < head_bytes:
                    head += chunk[: head_bytes - len(head)]
                digest.update(chunk)
                if keep:
                    kept += chunk
        finally:
            body.close()
        return StoredObject(size=size, head=head, content_type=obj.get("ContentType", ""),
                            sha256=digest.hexdigest(), data=bytes(kept) if keep else None,
                            etag=str(obj.get("ETag", "")))

    def quarantine(self, key: str) -> bool:
        """Move a rejected object to `quarantine/<key>` (server-side copy, then delete); True if it moved
        now. Idempotent: a redelivered event finds the source gone and changes nothing (False). Never
        reads the quarantine prefix, so the verifier's role needs no read access there."""
        extra: dict[str, Any] = {}
        if self._kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}
        try:
            self._s3.copy_object(Bucket=self._bucket, Key=QUARANTINE_PREFIX + key,
                                 CopySource={"Bucket": self._bucket, "Key": key}, MetadataDirective="COPY", **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return False
            raise
        self._s3.delete_object(Bucket=self._bucket, Key=key)
        return True

    def seal(self, key: str, etag: str) -> str | None:
        sealed = SEALED_PREFIX + key.removeprefix("materials/")
        extra: dict[str, Any] = {}
        if self._kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}
        try:
            self._s3.copy_object(Bucket=self._bucket, Key=sealed, CopySourceIfMatch=etag,
                                 CopySource={"Bucket": self._bucket, "Key": key}, MetadataDirective="COPY", **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("PreconditionFailed", "NoSuchKey", "404", "412"):
                return None
            raise
        return sealed

    def presigned_get(self, key: str, expires_in: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in)
        return url
