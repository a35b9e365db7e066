"""Time-ordered ids (`marketplace.ids`): one by one or in bulk, always increasing."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from marketplace.ids import new_id, new_ids


def test_bulk_ids_are_version_7_and_increase_with_single_ones_around_them() -> None:
    before = new_id()
    bulk = new_ids(5_000)  # more than one millisecond's 4,096 counter values
    after = new_id()
    ids = [before, *bulk, after]
    assert all(a.int < b.int for a, b in itertools.pairwise(ids))
    assert {u.version for u in ids} == {7}
    assert {u.variant for u in ids} == {"specified in RFC 4122"}
    assert len(set(ids)) == len(ids)


@given(st.lists(st.integers(0, 40), max_size=20))
def test_any_mix_of_bulk_and_single_ids_is_strictly_increasing(sizes: list[int]) -> None:
    made = []
    for size in sizes:
        made += new_ids(size) if size else [new_id()]
    assert all(a.int < b.int for a, b in itertools.pairwise(made))
    assert new_ids(0) == []
