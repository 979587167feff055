"""The template deployed to a moto server, plus what moto's CloudFormation skips."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import jwt
import pytest

from infra.onetrip import users
from infra.onetrip.moto_stack import client

EXPECTED_OUTPUTS = {
    "TableName", "TableStreamArn", "BucketName", "UploadQueueUrl", "UploadQueueArn",
    "UploadDLQUrl", "DeliveryQueueUrl", "DeliveryQueueArn", "DeliveryDLQUrl", "KeyId", "KeyArn",
    "UserPoolId", "MobileClientId", "MachineClientId", "JwksUrl", "Issuer", "BlindIndexKeyId", "BlindIndexKeyArn",
}


def test_deploy_yields_every_output(deployed, moto_url):
    outputs = deployed["outputs"]
    assert set(outputs) >= EXPECTED_OUTPUTS
    assert all(outputs[name] for name in EXPECTED_OUTPUTS)
    assert outputs["JwksUrl"] == f"{moto_url}/{outputs['UserPoolId']}/.well-known/jwks.json"
    assert outputs["Issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{outputs['UserPoolId']}"


def test_bucket_notification_comes_from_the_template(deployed, moto_url):
    outputs = deployed["outputs"]
    config = client("s3", moto_url).get_bucket_notification_configuration(
        Bucket=outputs["BucketName"])
    [queue] = config["QueueConfigurations"]
    assert queue["QueueArn"] == outputs["UploadQueueArn"]
    assert queue["Events"] == ["s3:ObjectCreated:*"]
    assert queue["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "materials/"}]


def test_only_uploads_under_materials_reach_the_upload_queue(deployed, moto_url):
    outputs = deployed["outputs"]
    s3, sqs = client("s3", moto_url), client("sqs", moto_url)
    s3.put_object(Bucket=outputs["BucketName"], Key="quarantine/x.pdf", Body=b"%PDF-")
    s3.put_object(Bucket=outputs["BucketName"], Key="materials/app 1/id card.pdf", Body=b"%PDF-")
    keys, deadline = [], time.monotonic() + 5
    while time.monotonic() < deadline and not keys:
        for message in sqs.receive_message(QueueUrl=outputs["UploadQueueUrl"],
                                           MaxNumberOfMessages=10, WaitTimeSeconds=1
                                           ).get("Messages", []):
            body = json.loads(message["Body"])
            keys += [r["s3"]["object"]["key"] for r in body.get("Records", [])]  # skips s3:TestEvent
    # Keys arrive URL-encoded; moto also encodes "/" as %2F (AWS keeps "/"): unquote_plus
    # reads both.
    assert [urllib.parse.unquote_plus(k) for k in keys] == ["materials/app 1/id card.pdf"]


def test_other_skipped_settings_are_applied(deployed, moto_url):
    outputs = deployed["outputs"]
    s3, ddb = client("s3", moto_url), client("dynamodb", moto_url)
    bucket = outputs["BucketName"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == outputs["KeyArn"]
    assert rule["BucketKeyEnabled"] is True
    [lifecycle] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert lifecycle["Filter"] == {"Prefix": "quarantine/"}
    assert lifecycle["Expiration"] == {"Days": 90}
    ttl = ddb.describe_time_to_live(TableName=outputs["TableName"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    policy = json.loads(client("sqs", moto_url).get_queue_attributes(
        QueueUrl=outputs["UploadQueueUrl"], AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}


def test_user_pool_has_groups_clients_and_custom_attribute(deployed, moto_url):
    outputs = deployed["outputs"]
    cognito = client("cognito-idp", moto_url)
    pool_id = outputs["UserPoolId"]
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert "custom:assurance_level" in {a["Name"] for a in pool["SchemaAttributes"]}
    groups = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pool_id)["Groups"]}
    assert groups == {"citizens", "enterprise-agents", "admins", "window:yq-centre", "terminal:yq-centre-kiosk-01",
                      "dept:yq-amr", "dept:yq-tax", "dept:yq-realestate"}
    mobile = cognito.describe_user_pool_client(
        UserPoolId=pool_id, ClientId=outputs["MobileClientId"])["UserPoolClient"]
    machine = cognito.describe_user_pool_client(
        UserPoolId=pool_id, ClientId=outputs["MachineClientId"])["UserPoolClient"]
    assert set(mobile["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert set(machine["ExplicitAuthFlows"]) == {
        "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert mobile["AccessTokenValidity"] == 60
    assert "ClientSecret" not in mobile and "ClientSecret" not in machine


def test_demo_users_have_subs_and_groups(deployed):
    created = deployed["users"]
    assert set(created) == {"citizen-verified", "citizen-unverified", "agent", "admin", "window-yq-centre",
                            "terminal-yq-kiosk-01", "dept-yq-amr", "dept-yq-tax", "dept-yq-realestate"}
    assert len({u["sub"] for u in created.values()}) == len(created)
    assert created["dept-yq-tax"]["groups"] == ["dept:yq-tax"]
    assert created["dept-yq-tax"]["client_id"] == deployed["outputs"]["MachineClientId"]
    assert created["citizen-verified"]["client_id"] == deployed["outputs"]["MobileClientId"]


@pytest.mark.parametrize("username, group, client_output", [
    ("citizen-verified", "citizens", "MobileClientId"),
    ("dept-yq-realestate", "dept:yq-realestate", "MachineClientId"),
])
def test_access_token_is_rs256_jwt_verified_by_the_served_jwks(deployed, username, group,
                                                               client_output):
    outputs = deployed["outputs"]
    token = users.token(outputs, username)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    signing_key = jwt.PyJWKClient(outputs["JwksUrl"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], issuer=outputs["Issuer"])
    assert claims["token_use"] == "access"
    assert claims["cognito:groups"] == [group]
    assert claims["client_id"] == outputs[client_output]  # access tokens carry no `aud`
    assert claims["sub"] == deployed["users"][username]["sub"]


def test_jwks_is_served_at_jwks_url(deployed):
    with urllib.request.urlopen(deployed["outputs"]["JwksUrl"], timeout=5) as response:
        keys = json.load(response)["keys"]
    assert keys and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"


def test_unknown_demo_user_is_refused(deployed):
    with pytest.raises(KeyError, match="unknown demo user"):
        users.token(deployed["outputs"], "nobody")


def test_the_blind_index_key_is_an_hmac_key(deployed, moto_url):
    """moto's CloudFormation ignores KeySpec; the local stack recreates the key from the template."""
    kms = client("kms", moto_url)
    key = kms.describe_key(KeyId=deployed["outputs"]["BlindIndexKeyId"])["KeyMetadata"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(KeyId=key["KeyId"], MacAlgorithm="HMAC_SHA_256", Message=b"x")["Mac"]
    assert len(mac) == 32
