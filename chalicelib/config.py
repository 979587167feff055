"""Settings: the environment of a function, parsed once into one typed object.

Read lazily (first use, not import) so a cold start pays nothing for it, and cached so every
request of a warm container shares it. Tests replace it with `override_settings`.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = "local"
    table_name: str = "onetrip"
    bucket_name: str = "onetrip-materials"
    delivery_queue_url: str = ""
    kms_key_id: str = ""
    jwks_url: str = ""
    issuer: str = ""
    audiences: tuple[str, ...] = ()
    allow_loopback_webhooks: bool = False
    # Seconds before the n-th redelivery of a failed webhook. Production follows the quality bar's
    # schedule over about three days; the local stack shortens it so a demo outage heals in seconds.
    delivery_backoff: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    api_base_url: str = ""
    upload_url_ttl_seconds: int = Field(default=900, le=900)
    download_url_ttl_seconds: int = Field(default=300, le=900)
    region: str = "us-east-1"

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @classmethod
    def from_environ(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def csv(name: str) -> tuple[str, ...]:
            return tuple(p.strip() for p in env.get(name, "").split(",") if p.strip())

        values: dict[str, object] = {
            "stage": env.get("ONETRIP_STAGE", "local"),
            "table_name": env.get("ONETRIP_TABLE", "onetrip"),
            "bucket_name": env.get("ONETRIP_BUCKET", "onetrip-materials"),
            "delivery_queue_url": env.get("ONETRIP_DELIVERY_QUEUE_URL", ""),
            "kms_key_id": env.get("ONETRIP_KMS_KEY_ID", ""),
            "jwks_url": env.get("ONETRIP_JWKS_URL", ""),
            "issuer": env.get("ONETRIP_ISSUER", ""),
            "audiences": csv("ONETRIP_AUDIENCES"),
            "allow_loopback_webhooks": env.get("ONETRIP_ALLOW_LOOPBACK_WEBHOOKS", "") == "1",
            "api_base_url": env.get("ONETRIP_API_BASE_URL", ""),
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        }
        if backoff := csv("ONETRIP_DELIVERY_BACKOFF"):
            values["delivery_backoff"] = tuple(int(b) for b in backoff)
        settings = cls.model_validate(values)
        if settings.allow_loopback_webhooks and not settings.is_local:
            raise ValueError("ONETRIP_ALLOW_LOOPBACK_WEBHOOKS is for the local stage only")
        return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ()
