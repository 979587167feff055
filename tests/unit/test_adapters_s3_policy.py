"""The presigned POST policy S3 enforces in AWS (moto does not), read back from a real boto3 signature."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from chalicelib.adapters.s3 import S3FileStore

BUCKET = "onetrip-materials"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
KEY = "materials/app_01ARZ3NDEKTSV4RRFFQ69G5FAV/form/upl_01ARZ3NDEKTSV4RRFFQ69G5FAW"
MAX = 5 * 1024 * 1024


@pytest.fixture
def s3(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    return session.client("s3", config=Config(signature_version="s3v4"))


def decoded_policy(post):
    return json.loads(base64.b64decode(post.fields["policy"]))


def conditions_of(policy):
    return policy["conditions"]


PREFIX = "materials/app_01ARZ3NDEKTSV4RRFFQ69G5FAV/"


@pytest.fixture
def post(s3):
    return S3FileStore(s3, BUCKET, KMS_KEY).presigned_post(KEY, "application/pdf", MAX, 900, key_prefix=PREFIX)


def test_the_size_is_bounded_between_one_byte_and_the_spec_maximum(post):
    conditions = conditions_of(decoded_policy(post))
    ranges = [c for c in conditions if isinstance(c, list) and c[0] == "content-length-range"]
    assert ranges == [["content-length-range", 1, MAX]]


def test_the_content_type_is_exact(post):
    conditions = conditions_of(decoded_policy(post))
    assert {"Content-Type": "application/pdf"} in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" and c[1].lower() == "$content-type"
                   for c in conditions)
    assert post.fields["Content-Type"] == "application/pdf"


def test_the_key_is_exact_and_inside_the_application_prefix(post):
    """Both bind: the exact key keeps one policy from writing over another slot's object; the prefix
    is a second bound S3 checks on its own."""
    conditions = conditions_of(decoded_policy(post))
    assert {"key": KEY} in conditions
    starts = [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    assert starts == [["starts-with", "$key", PREFIX]]
    assert post.fields["key"] == KEY and post.key == KEY and KEY.startswith(PREFIX)
    assert {"bucket": BUCKET} in conditions


@pytest.mark.parametrize("prefix", ["materials/app_OTHER/", "materials/app_01ARZ3NDEKTSV4RRFFQ69G5FAV", ""])
def test_a_key_outside_its_prefix_is_never_signed(s3, prefix):
    with pytest.raises(ValueError):
        S3FileStore(s3, BUCKET, KMS_KEY).presigned_post(KEY, "application/pdf", MAX, 900, key_prefix=prefix)


def test_sse_kms_with_the_configured_key_is_required(post):
    conditions = conditions_of(decoded_policy(post))
    assert {"x-amz-server-side-encryption": "aws:kms"} in conditions
    assert {"x-amz-server-side-encryption-aws-kms-key-id": KMS_KEY} in conditions
    assert post.fields["x-amz-server-side-encryption"] == "aws:kms"
    assert post.fields["x-amz-server-side-encryption-aws-kms-key-id"] == KMS_KEY


def test_the_policy_expires_within_15_minutes(post):
    raw = decoded_policy(post)["expiration"]
    expiration = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    assert now < expiration <= now + timedelta(minutes=15, seconds=1)
    assert datetime.fromisoformat(post.expires_at) <= now + timedelta(minutes=15, seconds=1)


def test_the_policy_is_signed_with_sigv4(post):
    assert post.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert post.fields["x-amz-signature"]
    assert post.max_size == MAX


def test_every_policy_field_is_covered_by_a_condition(post):
    """S3 refuses a POST whose form fields are not all in the policy; a field left out breaks uploads."""
    conditions = conditions_of(decoded_policy(post))
    named = {next(iter(c)).lower() for c in conditions if isinstance(c, dict)}
    unsigned = {"policy", "x-amz-signature"}
    assert {f.lower() for f in post.fields} - unsigned <= named


def test_the_policy_without_a_kms_key_has_no_sse_kms_fields(s3):
    fields, conditions = S3FileStore(s3, BUCKET).upload_policy(KEY, "image/png", 10)
    assert fields == {"Content-Type": "image/png"}
    assert ["content-length-range", 1, 10] in conditions
    assert not any("x-amz-server-side-encryption" in c for c in conditions if isinstance(c, dict))
