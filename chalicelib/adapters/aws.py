"""boto3 clients, built on first use and shared by a warm container (never at import: cold start)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 4},
        "connect_timeout": 3,
        "read_timeout": 10,
    }
    if service == "s3":
        # Path-style URLs work against both AWS and a local endpoint on 127.0.0.1, and SigV4 is
        # what presigned POST policies with SSE-KMS need.
        options["s3"] = {"addressing_style": "path" if os.environ.get("AWS_ENDPOINT_URL") else "auto"}
        options["signature_version"] = "s3v4"
    return boto3.session.Session().client(service, config=Config(**options))
