"""Real-name verification through the API against the local reference registry, with the ID number
kept only as envelope ciphertext, blind index and masked text."""

from __future__ import annotations

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.identity_verifier import registry_entry_index

from .conftest import call, new_user

# Valid GB 11643 numbers for people who exist only in this test's registry.
WANG = ("王小明", "330382198512124562")
CHEN = ("陈红", "33038220000229078X")


@pytest.fixture
def registry(stack):
    store, blind_index = bootstrap.deps().store, bootstrap.deps().blind_index
    for name, number in (WANG, CHEN):
        store.put_registry_entry(registry_entry_index(blind_index, name, number))


def test_me_shows_kind_binding_and_masked_identity(api, stack):
    status, me = call(api, "GET", "/v1/me", stack.headers("citizen-verified"))
    assert status == 200 and me["kind"] == "citizen"
    assert me["identity"]["id_number_masked"] == "110105********002X"
    assert "applications:own" in me["scopes"]
    status, me = call(api, "GET", "/v1/me", stack.headers("dept-yq-tax"))
    assert (me["kind"], me["department"], me["identity"]) == ("department", "yq-tax", None)
    status, me = call(api, "GET", "/v1/me", stack.headers("window-yq-centre"))
    assert (me["kind"], me["office"]) == ("window_staff", "yq-centre")
    status, me = call(api, "GET", "/v1/me", stack.headers("terminal-yq-kiosk-01"))
    assert (me["kind"], me["location"]) == ("terminal", "yq-centre-kiosk-01")


def test_verification_raises_assurance_and_unlocks_submission(api, stack, registry):
    user = new_user(stack, ["citizens"])
    status, draft = call(api, "POST", "/v1/applications", user["headers"], {"item_code": "YQ-AMR-0001"})
    status, refused = call(api, "POST", f"/v1/applications/{draft['id']}/submit", user["headers"])
    assert "identity_not_verified" in {p["code"] for p in refused["problems"]}

    status, identity = call(api, "POST", "/v1/me/identity", user["headers"],
                            {"name": WANG[0], "id_number": WANG[1]})
    assert status == 200, identity
    assert identity == {**identity, "assurance_level": "L2", "method": "reference_registry",
                        "id_number_masked": "330382********4562", "name_masked": "王**"}
    status, refused = call(api, "POST", f"/v1/applications/{draft['id']}/submit", user["headers"])
    assert "identity_not_verified" not in {p["code"] for p in refused["problems"]}
    attributes = stack.aws("cognito-idp").admin_get_user(UserPoolId=stack.outputs["UserPoolId"],
                                                         Username=user["username"])["UserAttributes"]
    assert {"Name": "custom:assurance_level", "Value": "L2"} in attributes
    # The stored record holds ciphertext and a blind index, never the number.
    record = stack.aws("dynamodb").get_item(TableName=stack.outputs["TableName"],
                                            Key={"pk": {"S": f"USER#{_sub(api, user)}"}, "sk": {"S": "IDENTITY"}})
    assert WANG[1] not in str(record) and "v1." in record["Item"]["doc"]["S"]


def _sub(api, user) -> str:
    return call(api, "GET", "/v1/me", user["headers"])[1]["subject"]


def test_one_id_number_binds_one_account(api, stack, registry):
    first, second = new_user(stack, ["citizens"]), new_user(stack, ["citizens"])
    assert call(api, "POST", "/v1/me/identity", first["headers"], {"name": CHEN[0], "id_number": CHEN[1]})[0] == 200
    # The same person verifying again on the same account is fine (idempotent).
    assert call(api, "POST", "/v1/me/identity", first["headers"], {"name": CHEN[0], "id_number": CHEN[1]})[0] == 200
    status, body = call(api, "POST", "/v1/me/identity", second["headers"], {"name": CHEN[0], "id_number": CHEN[1]})
    assert (status, body["code"]) == (409, "identity_already_bound")
    assert CHEN[1] not in str(body)


def test_bad_identity_input_lists_every_problem(api, stack, registry):
    user = new_user(stack, ["citizens"])
    status, body = call(api, "POST", "/v1/me/identity", user["headers"], {"name": " ", "id_number": "110105194912310021"})
    assert status == 422
    assert {(p["code"], p["target"]) for p in body["problems"]} == {("name_invalid", "name"),
                                                                     ("id_number_invalid", "id_number")}
    status, body = call(api, "POST", "/v1/me/identity", user["headers"],
                        {"name": "王小明", "id_number": "990105194912310021"})
    assert status == 422 and body["problems"][0]["code"] == "id_number_invalid"
    status, body = call(api, "POST", "/v1/me/identity", user["headers"], {"name": "李雷", "id_number": WANG[1]})
    assert (status, body["code"]) == (422, "identity_not_matched")
    status, body = call(api, "POST", "/v1/me/identity", user["headers"],
                        {"name": WANG[0], "id_number": WANG[1], "assurance_level": "L3"})
    assert status == 422 and body["problems"][0]["code"] == "field_not_allowed"
    status, _ = call(api, "POST", "/v1/me/identity", stack.headers("dept-yq-tax"), {"name": WANG[0], "id_number": WANG[1]})
    assert status == 403


def test_my_data_export_is_masked(api, stack):
    status, data = call(api, "GET", "/v1/me/data", stack.headers("citizen-verified"))
    assert status == 200
    assert data["identity"]["id_number_masked"] == "110105********002X"
    assert "11010519491231002X" not in str(data) and "ciphertext" not in str(data)
    assert isinstance(data["applications"], list)
