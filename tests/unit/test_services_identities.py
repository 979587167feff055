"""Recording real-name verification: invalid numbers refused, the number kept only as ciphertext."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.identity import AssuranceLevel
from chalicelib.services.identities import record_verified_identity
from tests.fakes import fake_deps


@pytest.fixture
def deps():
    return fake_deps()


@pytest.mark.parametrize("id_number", [
    "110105194912310021", "11010519491231002", "１１０１０５１９４９１２３１００２Ｘ"])
def test_an_invalid_id_number_is_refused_with_a_problem(deps, id_number):
    with pytest.raises(ValidationFailed) as exc:
        record_verified_identity(deps, "sub-1", "张三", id_number, AssuranceLevel.L2, "test")
    assert [(p.code, p.target) for p in exc.value.problems] == [("id_number_invalid", "id_number")]
    assert id_number not in str(exc.value) and id_number not in str(exc.value.to_dict())
    assert deps.store.identities == {}


def test_the_stored_identity_holds_the_number_only_as_ciphertext(deps):
    record_verified_identity(deps, "sub-1", "张三", "11010519491231002X", AssuranceLevel.L2, "test")
    stored = deps.store.get_identity("sub-1")
    assert stored is not None
    assert stored.id_number_ciphertext != "11010519491231002X"
    assert "11010519491231002X" not in stored.model_dump_json()
    assert deps.cipher.decrypt(stored.id_number_ciphertext, {"sub": "sub-1", "purpose": "id_number"}) == (
        "11010519491231002X")


def test_the_ciphertext_is_bound_to_its_owner(deps):
    stored = record_verified_identity(deps, "sub-1", "张三", "11010519491231002X", AssuranceLevel.L2, "test")
    with pytest.raises(ValueError):
        deps.cipher.decrypt(stored.id_number_ciphertext, {"sub": "sub-2", "purpose": "id_number"})


def test_the_public_view_is_masked(deps):
    stored = record_verified_identity(deps, "sub-1", "张三", "11010519491231002X", AssuranceLevel.L2, "test")
    view = stored.public_view()
    assert view["id_number_masked"] == "110105********002X"
    assert view["name_masked"] == "张*"
    assert view["assurance_level"] == "L2"
    assert "id_number_ciphertext" not in view
    assert "11010519491231002X" not in str(view) and "张三" not in str(view)


def test_a_lowercase_x_and_surrounding_spaces_are_normalized(deps):
    stored = record_verified_identity(deps, "sub-1", "张三", " 11010519491231002x ", AssuranceLevel.L2,
                                      "test")
    assert stored.id_number_masked == "110105********002X"
    assert deps.cipher.decrypt(stored.id_number_ciphertext, {"sub": "sub-1", "purpose": "id_number"}) == (
        "11010519491231002X")
