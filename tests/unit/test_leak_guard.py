"""The suite-wide leak guard really catches a leak (and ignores look-alikes)."""

from __future__ import annotations

import pytest

from tests.conftest import personal_identifiers_in


def test_valid_identifiers_are_found_and_look_alikes_are_not():
    text = "ok 11010519491231002X and 91350100M000100Y43; not 110105194912310021 or app_01M8DV7NQQ751SFGWAV65EFHHG"
    assert personal_identifiers_in(text) == {"11010519491231002X", "91350100M000100Y43"}
    assert personal_identifiers_in("masked 110105********002X 91350100******0Y43") == set()


@pytest.mark.leaks_allowed  # the inner run's report shows the planted number
def test_a_logged_id_number_fails_the_test_that_logged_it(pytester):
    pytester.makeconftest((__import__("pathlib").Path(__file__).parents[1] / "conftest.py").read_text())
    pytester.makepyfile(test_leaky="""
import logging
def test_leaky():
    logging.getLogger("x").warning("applicant 11010519491231002X")
def test_clean():
    logging.getLogger("x").warning("applicant 110105********002X")
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*personal identifiers in captured logs*"])
