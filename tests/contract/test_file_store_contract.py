"""One contract for the FileStore: the fake the unit tests use behaves like the S3 adapter on moto
(inspection with and without the content, quarantine that is idempotent)."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.s3 import QUARANTINE_PREFIX, S3FileStore
from tests.fakes import FakeFiles

BUCKET = "onetrip-files-contract"
KEY = "materials/app_1/form/upl_1"
DATA = b"%PDF-1.4\n" + bytes(range(256)) * 40


@pytest.fixture(params=["fake", "s3"])
def files(request, monkeypatch):
    if request.param == "fake":
        fake = FakeFiles()
        yield fake, lambda key, data, ct: fake.put(key, data, ct), lambda key: key in fake.objects or key in fake.quarantined
        return
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)

        def put(key, data, content_type):
            s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType=content_type)

        def exists(key):
            return s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) > 0

        yield S3FileStore(s3, BUCKET), put, exists


class TestFileStoreContract:
    def test_inspect_reports_size_head_type_and_hash_without_the_content_by_default(self, files):
        store, put, _ = files
        put(KEY, DATA, "application/pdf")
        seen = store.inspect(KEY, 16)
        assert (seen.size, seen.head, seen.content_type) == (len(DATA), DATA[:16], "application/pdf")
        assert seen.sha256 == hashlib.sha256(DATA).hexdigest() and seen.data is None

    def test_inspect_keeps_the_content_only_up_to_the_bound(self, files):
        store, put, _ = files
        put(KEY, DATA, "application/pdf")
        assert store.inspect(KEY, 16, keep_bytes=len(DATA)).data == DATA
        assert store.inspect(KEY, 16, keep_bytes=len(DATA) - 1).data is None

    def test_inspect_of_a_missing_object_is_none(self, files):
        store, _, _ = files
        assert store.inspect("materials/nope/x/y", 16) is None

    def test_quarantine_moves_the_object_under_the_quarantine_prefix(self, files):
        store, put, exists = files
        put(KEY, DATA, "application/pdf")
        assert store.quarantine(KEY) is True
        assert not exists(KEY) and exists(QUARANTINE_PREFIX + KEY)
        assert store.inspect(KEY, 16) is None

    def test_quarantine_again_is_a_no_op(self, files):
        store, put, exists = files
        put(KEY, DATA, "application/pdf")
        store.quarantine(KEY)
        assert store.quarantine(KEY) is False
        assert exists(QUARANTINE_PREFIX + KEY) and not exists(KEY)

    def test_quarantine_of_an_object_that_never_existed_moves_nothing(self, files):
        store, _, exists = files
        assert store.quarantine("materials/nope/x/y") is False
        assert not exists(QUARANTINE_PREFIX + "materials/nope/x/y")
