"""Settings: the environment of a function, parsed once into one typed object.

Read lazily (first use, not import) so a cold start pays nothing for it, and cached so every
request of a warm container shares it. Tests replace it with `override_settings`.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from .domain.rate_limits import RateLimit, parse_limits


class Settings(BaseModel, defer_build=True):
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
    # Department delivery (issue 5). Each retry waits its schedule entry ± this fraction.
    delivery_jitter: float = Field(default=0.2, ge=0, le=0.5)
    delivery_timeout_seconds: float = Field(default=15.0, gt=0, le=15)
    # Waits up to this long ride on SQS DelaySeconds (AWS caps it at 900); longer ones go to the
    # due-time store and the sweep. Tests lower it to exercise the sweep on a compressed clock.
    delivery_max_queue_delay: int = Field(default=900, ge=0, le=900)
    # Circuit breaker: this many failures in a row open an endpoint's circuit for the cool-down.
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: int = Field(default=300, ge=1)
    # A claimed attempt whose worker went silent this long is taken over (HTTP timeout plus margin).
    delivery_claim_lease_seconds: int = Field(default=60, ge=1)
    # Concurrent requests per endpoint inside one `deliver` batch (each on its own kept-alive connection).
    endpoint_parallelism: int = Field(default=4, ge=1, le=10)
    # A `deliver` batch never outlives its function: an attempt starts only if its HTTP exchange (its
    # timeout, shortened to what the function has left) plus this reserve for the claim and the writes
    # after it still fit; one that would get less than the minimum waits for the next batch.
    delivery_batch_reserve_seconds: float = Field(default=1.5, ge=0, le=10)
    delivery_min_attempt_seconds: float = Field(default=1.0, gt=0, le=15)
    alerts_topic_arn: str = ""
    # Applicants' case notifications go out through this SNS topic; empty (the local stage): recorded only.
    applicant_topic_arn: str = ""
    # The missed-events pull shows events older than this, so a slower concurrent commit is never skipped.
    events_settle_seconds: int = Field(default=5, ge=0, le=300)
    api_base_url: str = ""
    user_pool_id: str = ""
    blind_index_key_id: str = ""
    # "reference": the local stage's registry of demo people; "https": the authority's service.
    identity_verifier: str = "reference"
    identity_verifier_url: str = ""
    # The bearer token: as is (local runs, tests), or the ARN of the Secrets Manager secret holding it
    # (deployed stages, so the function's configuration does not show it). One of the two, not both.
    identity_verifier_token: str = Field(default="", repr=False)
    identity_verifier_token_secret: str = ""
    upload_url_ttl_seconds: int = Field(default=900, le=900)
    download_url_ttl_seconds: int = Field(default=300, le=900)
    region: str = "us-east-1"
    # The provincial platform's subscriber (a department code in the registry): hears every case
    # event with the item's provincial base code (seed P2). Empty: no upward reporting.
    provincial_subscriber: str = ""
    # Per-principal rate limits (chalicelib/domain/rate_limits.py): kind or route class -> limit.
    # Empty: no limiting. ONETRIP_RATE_LIMITS: unset = the defaults in deployed stages and none
    # locally; `on`, `off`, or overrides such as `citizen=120/60,identity=5/3600`.
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    # The HTTPS identity verifier trusts this CA bundle (PEM file) instead of the system store.
    identity_verifier_ca_bundle: str = ""
    # API Gateway usage plans (infra/onetrip/usage_plans.py): the key names the authorizer returns.
    usage_key_prefix: str = ""
    usage_key_departments: tuple[str, ...] = ()

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
            "user_pool_id": env.get("ONETRIP_USER_POOL_ID", ""),
            "blind_index_key_id": env.get("ONETRIP_BLIND_INDEX_KEY_ID", ""),
            "identity_verifier": env.get("ONETRIP_IDENTITY_VERIFIER", "reference"),
            "identity_verifier_url": env.get("ONETRIP_IDENTITY_VERIFIER_URL", ""),
            "identity_verifier_token": env.get("ONETRIP_IDENTITY_VERIFIER_TOKEN", ""),
            "identity_verifier_token_secret": env.get("ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET", ""),
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        }
        if backoff := csv("ONETRIP_DELIVERY_BACKOFF"):
            values["delivery_backoff"] = tuple(int(b) for b in backoff)
        for name, key, kind in (("ONETRIP_DELIVERY_JITTER", "delivery_jitter", float),
                                ("ONETRIP_DELIVERY_TIMEOUT", "delivery_timeout_seconds", float),
                                ("ONETRIP_DELIVERY_MAX_QUEUE_DELAY", "delivery_max_queue_delay", int),
                                ("ONETRIP_BREAKER_THRESHOLD", "breaker_threshold", int),
                                ("ONETRIP_BREAKER_COOLDOWN", "breaker_cooldown_seconds", int),
                                ("ONETRIP_DELIVERY_CLAIM_LEASE", "delivery_claim_lease_seconds", int),
                                ("ONETRIP_ENDPOINT_PARALLELISM", "endpoint_parallelism", int),
                                ("ONETRIP_DELIVERY_BATCH_RESERVE", "delivery_batch_reserve_seconds", float),
                                ("ONETRIP_DELIVERY_MIN_ATTEMPT", "delivery_min_attempt_seconds", float),
                                ("ONETRIP_EVENTS_SETTLE", "events_settle_seconds", int)):
            if env.get(name):
                values[key] = kind(env[name])
        values["alerts_topic_arn"] = env.get("ONETRIP_ALERTS_TOPIC_ARN", "")
        values["applicant_topic_arn"] = env.get("ONETRIP_APPLICANT_TOPIC_ARN", "")
        values["provincial_subscriber"] = env.get("ONETRIP_PROVINCIAL_SUBSCRIBER", "")
        values["rate_limits"] = parse_limits(env.get("ONETRIP_RATE_LIMITS", "off" if values["stage"] == "local"
                                                     else "on"))
        values["identity_verifier_ca_bundle"] = env.get("ONETRIP_IDENTITY_VERIFIER_CA_BUNDLE", "")
        values["usage_key_prefix"] = env.get("ONETRIP_USAGE_KEY_PREFIX", "")
        values["usage_key_departments"] = csv("ONETRIP_USAGE_KEY_DEPARTMENTS")
        settings = cls.model_validate(values)
        if settings.allow_loopback_webhooks and not settings.is_local:
            raise ValueError("ONETRIP_ALLOW_LOOPBACK_WEBHOOKS is for the local stage only")
        if settings.identity_verifier == "reference" and not settings.is_local:
            raise ValueError("the reference identity registry is for the local stage only")
        if settings.identity_verifier == "https":
            _check_identity_token(settings)
        return settings


def _check_identity_token(settings: Settings) -> None:
    """Exactly one place for the https verifier's token. Without a URL the verifier is not configured
    at all (every function but the API handler, which alone serves the identity route): nothing to check."""
    if settings.identity_verifier_token and settings.identity_verifier_token_secret:
        raise ValueError("set either ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET (the secret's ARN, deployed stages) "
                         "or ONETRIP_IDENTITY_VERIFIER_TOKEN (the token itself, local runs), not both")
    if settings.identity_verifier_url and not (settings.identity_verifier_token
                                               or settings.identity_verifier_token_secret):
        raise ValueError("ONETRIP_IDENTITY_VERIFIER_URL is set but not its bearer token: set "
                         "ONETRIP_IDENTITY_VERIFIER_TOKEN_SECRET (the secret's ARN) or ONETRIP_IDENTITY_VERIFIER_TOKEN")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ()
