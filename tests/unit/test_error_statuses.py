"""The one table of HTTP statuses: a dependency that did not answer is 503 (retry later), not 400."""

from __future__ import annotations

from chalicelib.adapters.identity_verifier import IdentityServiceUnavailable
from chalicelib.domain.calendar import CalendarYearUnknown
from chalicelib.domain.errors import Conflict, OneTripError
from chalicelib.entrypoints.errors import status_for


def test_an_unavailable_identity_service_is_503():
    assert status_for(IdentityServiceUnavailable()) == 503


def test_the_table_still_maps_the_other_families():
    assert status_for(CalendarYearUnknown.for_year(2031)) == 503
    assert status_for(Conflict()) == 409
    assert status_for(OneTripError()) == 400
