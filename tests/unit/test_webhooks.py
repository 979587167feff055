"""Standard Webhooks v1 signing/verification and the CloudEvents envelope."""

from __future__ import annotations

import base64
import json
import random

import pytest

from chalicelib.domain.webhooks import (
    WebhookVerificationError,
    cloud_event,
    generate_secret,
    sign,
    signature_header,
    verify,
    webhook_headers,
)

KA_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KA_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KA_TS = 1614265330
KA_BODY = b'{"test": 2432232314}'
KA_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def ka_headers(**overrides: str) -> dict[str, str]:
    headers = {
        "webhook-id": KA_ID,
        "webhook-timestamp": str(KA_TS),
        "webhook-signature": KA_SIG,
    }
    headers.update(overrides)
    return headers


def rejection(headers, body=KA_BODY, *, now=KA_TS, secret=KA_SECRET, **kw) -> str:
    with pytest.raises(WebhookVerificationError) as info:
        verify(secret, headers, body, now=now, **kw)
    assert isinstance(info.value, ValueError)
    return info.value.code


# -- signing ----------------------------------------------------------------
def test_known_answer_vector():
    assert sign(KA_SECRET, KA_ID, KA_TS, KA_BODY) == KA_SIG


def test_known_answer_verifies():
    verify(KA_SECRET, ka_headers(), KA_BODY, now=KA_TS)


def test_secret_without_prefix_is_the_same_key():
    assert sign(KA_SECRET.removeprefix("whsec_"), KA_ID, KA_TS, KA_BODY) == KA_SIG


def test_generate_secret_shape_and_uniqueness():
    a, b = generate_secret(), generate_secret()
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a.removeprefix("whsec_"), validate=True)) == 32
    sign(a, "msg_1", 1, b"{}")  # usable


@pytest.mark.parametrize(
    "bad", ["whsec_not base64!", "whsec_", "whsec_" + base64.b64encode(b"short").decode()]
)
def test_invalid_secret_is_a_configuration_error(bad):
    with pytest.raises(ValueError) as info:
        sign(bad, KA_ID, KA_TS, KA_BODY)
    assert not isinstance(info.value, WebhookVerificationError)


def test_webhook_headers():
    headers = webhook_headers([KA_SECRET], KA_ID, KA_TS, KA_BODY)
    assert headers == {
        "webhook-id": KA_ID,
        "webhook-timestamp": str(KA_TS),
        "webhook-signature": KA_SIG,
        "content-type": "application/json",
    }


def test_signature_header_rotation_verifies_against_either_secret():
    new = generate_secret()
    header = signature_header([KA_SECRET, new], KA_ID, KA_TS, KA_BODY)
    assert header.split(" ") == [KA_SIG, sign(new, KA_ID, KA_TS, KA_BODY)]
    for secret in (KA_SECRET, new):
        verify(secret, ka_headers(**{"webhook-signature": header}), KA_BODY, now=KA_TS)
    assert rejection(ka_headers(**{"webhook-signature": header}), secret=generate_secret()) == (
        "no_matching_signature"
    )


def test_signature_header_needs_a_secret():
    with pytest.raises(ValueError):
        signature_header([], KA_ID, KA_TS, KA_BODY)


# -- verification: acceptance -------------------------------------------------
def test_header_lookup_is_case_insensitive():
    headers = {"Webhook-Id": KA_ID, "WEBHOOK-TIMESTAMP": str(KA_TS), "Webhook-Signature": KA_SIG}
    verify(KA_SECRET, headers, KA_BODY, now=KA_TS)


def test_email_message_headers_are_accepted():
    from email.message import Message

    msg = Message()
    for k, v in ka_headers().items():
        msg[k.title()] = v
    verify(KA_SECRET, msg, KA_BODY, now=KA_TS)


def test_several_signatures_one_valid():
    other = sign(generate_secret(), KA_ID, KA_TS, KA_BODY)
    header = f"v1,AAAA {other} v2,{KA_SIG[3:]} {KA_SIG} v1a,xyz"
    verify(KA_SECRET, ka_headers(**{"webhook-signature": header}), KA_BODY, now=KA_TS)


def test_malformed_entries_are_skipped_when_a_valid_one_remains():
    header = f"garbage v1,a,b ,, v1, ,x {KA_SIG}"
    verify(KA_SECRET, ka_headers(**{"webhook-signature": header}), KA_BODY, now=KA_TS)


@pytest.mark.parametrize("delta", [-300, 0, 300])
def test_timestamp_inside_tolerance(delta):
    verify(KA_SECRET, ka_headers(), KA_BODY, now=KA_TS + delta)


# -- verification: rejections ------------------------------------------------
@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing):
    headers = ka_headers()
    del headers[missing]
    assert rejection(headers) == "missing_header"


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_empty_header_counts_as_missing(name):
    assert rejection(ka_headers(**{name: "  "})) == "missing_header"


@pytest.mark.parametrize(
    "ts",
    [
        "abc",
        "1614265330.0",
        "-1614265330",
        "+1614265330",
        "0x60377a72",
        "1e9",
        "１６１４２６５３３０",  # full-width digits
        "9" * 40,
    ],
)
def test_non_numeric_timestamp(ts):
    assert rejection(ka_headers(**{"webhook-timestamp": ts})) == "bad_timestamp"


@pytest.mark.parametrize("delta", [-301, 301, -86400, 86400])
def test_timestamp_out_of_tolerance_both_sides(delta):
    assert rejection(ka_headers(), now=KA_TS + delta) == "timestamp_out_of_tolerance"


def test_custom_tolerance():
    assert rejection(ka_headers(), now=KA_TS + 11, tolerance=10) == "timestamp_out_of_tolerance"
    verify(KA_SECRET, ka_headers(), KA_BODY, now=KA_TS + 10, tolerance=10)


def test_default_now_is_the_clock():
    assert rejection(ka_headers(), now=None) == "timestamp_out_of_tolerance"


def test_tampered_body():
    assert rejection(ka_headers(), body=b'{"test": 2432232315}') == "no_matching_signature"


def test_reserialized_json_does_not_verify():
    reserialized = json.dumps(json.loads(KA_BODY), separators=(",", ":")).encode()
    assert rejection(ka_headers(), body=reserialized) == "no_matching_signature"


def test_tampered_id():
    assert rejection(ka_headers(**{"webhook-id": KA_ID + "x"})) == "no_matching_signature"


def test_tampered_timestamp():
    assert rejection(ka_headers(**{"webhook-timestamp": str(KA_TS + 1)})) == "no_matching_signature"


def test_tampered_signature():
    flipped = KA_SIG[:-2] + ("A" if KA_SIG[-2] != "A" else "B") + "="
    assert rejection(ka_headers(**{"webhook-signature": flipped})) == "no_matching_signature"


def test_wrong_secret():
    assert rejection(ka_headers(), secret=generate_secret()) == "no_matching_signature"


@pytest.mark.parametrize("header", ["v2," + KA_SIG[3:], "v1a,abc v0," + KA_SIG[3:], "V1," + KA_SIG[3:]])
def test_unknown_version_only(header):
    assert rejection(ka_headers(**{"webhook-signature": header})) == "no_matching_signature"


@pytest.mark.parametrize(
    "header",
    [
        KA_SIG[3:],  # no comma
        "v1" + KA_SIG[3:],  # no comma
        "v1,,abc",  # two commas
        "v1," + KA_SIG[3:] + ",extra",  # two commas
        ",",
        "v1,",
        "," + KA_SIG[3:],
        "garbage another",
    ],
)
def test_malformed_entries_only(header):
    assert rejection(ka_headers(**{"webhook-signature": header})) in {
        "malformed_signature",
        "no_matching_signature",
    }


def test_non_ascii_signature_does_not_crash():
    assert rejection(ka_headers(**{"webhook-signature": "v1,ü€\x00"})) == "no_matching_signature"


def test_error_codes_are_stable_attributes():
    err = WebhookVerificationError("bad_timestamp", "human text")
    assert err.code == "bad_timestamp" and str(err) == "human text"


# -- property-ish: random bodies --------------------------------------------
def test_random_bodies_roundtrip_and_single_bit_flips_fail():
    rng = random.Random(20240601)
    secrets = [generate_secret() for _ in range(3)]
    for i in range(200):
        body = rng.randbytes(rng.randint(0, 512))
        msg_id = f"msg_{i}_{rng.getrandbits(64):x}"
        ts = rng.randint(1_000_000_000, 4_000_000_000)
        active = secrets[: rng.randint(1, 3)]
        headers = webhook_headers(active, msg_id, ts, body)
        for secret in active:
            verify(secret, headers, body, now=ts)
        if body:
            pos = rng.randrange(len(body))
            flipped = body[:pos] + bytes([body[pos] ^ (1 << rng.randrange(8))]) + body[pos + 1 :]
            assert rejection(headers, body=flipped, now=ts, secret=active[0]) == "no_matching_signature"
        assert rejection(headers, body=body + b" ", now=ts, secret=active[0]) == "no_matching_signature"


# -- CloudEvents ---------------------------------------------------------------
def test_cloud_event_structured_json():
    body = cloud_event(
        event_id="01J0000000000000000000000A",
        event_type="gov.onetrip.case.task_assigned",
        source="/onetrip/cases",
        subject="case/01J0000000000000000000000B",
        time_iso="2024-06-01T08:00:00Z",
        data={"name": "张三", "b": 1, "a": [1, 2]},
    )
    text = body.decode("utf-8")
    assert "张三" in text and "\\u" not in text
    assert ": " not in text and ", " not in text
    event = json.loads(body)
    assert event == {
        "specversion": "1.0",
        "id": "01J0000000000000000000000A",
        "source": "/onetrip/cases",
        "type": "gov.onetrip.case.task_assigned",
        "subject": "case/01J0000000000000000000000B",
        "time": "2024-06-01T08:00:00Z",
        "datacontenttype": "application/json",
        "data": {"name": "张三", "b": 1, "a": [1, 2]},
    }
    assert list(event) == sorted(event)
    assert list(event["data"]) == sorted(event["data"])
    # deterministic bytes: the same input always signs the same
    assert body == cloud_event(
        event_id="01J0000000000000000000000A",
        event_type="gov.onetrip.case.task_assigned",
        source="/onetrip/cases",
        subject="case/01J0000000000000000000000B",
        time_iso="2024-06-01T08:00:00Z",
        data={"a": [1, 2], "b": 1, "name": "张三"},
    )
