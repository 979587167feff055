"""The once-only simulation counts a material as reused only where the domain's rules allow it."""

from __future__ import annotations

from bench import once_only
from chalicelib.domain.catalogue import ObtainableFrom
from tests.unit.catalogue_samples import item, material


def test_a_reusable_material_uploaded_once_is_reused_later_in_the_life_event():
    premises = material("premises").model_copy(update={"valid_for_days": 180})
    licence = material("licence").model_copy(update={"obtainable_from": ObtainableFrom(e_certificate="营业执照")})
    first = item("T-1", materials=(material("form"), premises))
    second = item("T-2", materials=(material("form"), premises, licence))
    not_reusable_here = item("T-3", materials=(material("premises"),))  # same code, no validity: an upload

    counts = once_only.simulate([first, second, not_reusable_here])

    assert counts == {"upload": 4, "vault": 1, "e_certificate": 1, "department": 0}


def test_the_sample_catalogue_simulation_adds_up():
    result = once_only.run()
    assert result["materials"] == sum(result["total"].values()) > 0
    assert result["without_upload"] == result["materials"] - result["total"]["upload"]
    assert result["total"]["vault"] >= 1  # premises proof: individual business → company (business.yaml)
    assert "without an upload" in once_only.table(result)
