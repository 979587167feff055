"""Property: a version's content hash changes if and only if its content does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.catalogue import MaterialSpec, ServiceItem

names = st.text(alphabet=st.sampled_from("婚姻证明户口簿营业执照abcXYZ "), min_size=1, max_size=12).map(
    lambda s: s.strip() or "x")
materials = st.builds(
    MaterialSpec,
    code=st.sampled_from(["m1", "m2", "m3"]), name_zh=names, name_en=names, required=st.booleans(),
    accepted_types=st.lists(st.sampled_from(["pdf", "jpg", "png", "ofd"]), min_size=1, max_size=4, unique=True
                            ).map(tuple),
    max_size_bytes=st.integers(1, 100 * 1024 * 1024), copies=st.integers(0, 10), original=st.booleans(),
)
items = st.builds(
    ServiceItem,
    code=st.sampled_from(["YQ-A", "YQ-B"]), base_code=st.sampled_from(["", "330000-XK-0001"]), name_zh=names,
    name_en=names, lead_department=st.sampled_from(["dept-a", "dept-b"]),
    statutory_days=st.integers(1, 365), committed_days=st.integers(1, 365), max_visits=st.integers(0, 1),
    aliases=st.lists(names, max_size=3).map(tuple),
    materials=st.lists(materials, min_size=1, max_size=3, unique_by=lambda m: m.code).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(items, items)
def test_hash_equal_iff_content_equal(a, b):
    assert (a.content_hash == b.content_hash) == (a.content() == b.content())


@settings(max_examples=200, deadline=None)
@given(items, st.integers(1, 1000), st.sampled_from(["draft", "published"]))
def test_version_number_and_status_are_not_content(item, version, status):
    renumbered = item.model_copy(update={"version": version, "status": status})
    assert renumbered.content_hash == item.content_hash


@settings(max_examples=200, deadline=None)
@given(items, st.integers(1, 365))
def test_any_change_of_a_rule_changes_the_hash(item, days):
    changed = item.model_copy(update={"statutory_days": days})
    assert (changed.content_hash == item.content_hash) == (days == item.statutory_days)
    renamed = item.model_copy(update={"materials": (item.materials[0].model_copy(
        update={"name_zh": item.materials[0].name_zh + "原件"}), *item.materials[1:])})
    assert renamed.content_hash != item.content_hash
