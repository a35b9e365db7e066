"""Entity tags and their comparison (RFC 9110 §8.8.3, §13.1.1-2): strong for `If-Match`,
weak for `If-None-Match`, `*`, lists, and a malformed header refused, never guessed at."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.entity_tags import (
    UNCONDITIONAL,
    EntityTag,
    IfMatch,
    MalformedPrecondition,
    PreconditionFailed,
    entity_tag,
    none_match,
    parse_tag_list,
)

versions = st.integers(min_value=1, max_value=2**62)


def test_a_tag_is_the_quoted_version() -> None:
    assert entity_tag(3) == '"3"'


@pytest.mark.parametrize(
    ("header", "current", "holds"),
    [
        ('"3"', 3, True),
        ('"2"', 3, False),
        ('W/"3"', 3, False),  # If-Match compares strongly: a weak tag never matches
        ('"1", "3"', 3, True),
        ('"1" , W/"3"', 3, False),
        ("*", 3, True),
        (" * ", 3, True),
        (',, "3" ,', 3, True),  # empty list elements are allowed by the `#` rule
        ('""', 3, False),
    ],
)
def test_if_match_compares_strongly(header: str, current: int, holds: bool) -> None:
    assert IfMatch(header).holds(current) is holds


@pytest.mark.parametrize(
    ("header", "current", "fresh"),
    [
        ('"3"', 3, False),
        ('W/"3"', 3, False),  # If-None-Match compares weakly
        ('"2", "4"', 3, True),
        ("*", 3, False),
    ],
)
def test_if_none_match_compares_weakly(header: str, current: int, fresh: bool) -> None:
    assert none_match(header, current) is fresh


@pytest.mark.parametrize("header", ["3", '"3', "W/3", '"3" "4"', "", " ", ",", '"3";', '*, "3"'])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(MalformedPrecondition) as refused:
        IfMatch(header)
    assert refused.value.status == 400
    with pytest.raises(MalformedPrecondition):
        none_match(header, 1)


def test_no_header_is_unconditional() -> None:
    assert UNCONDITIONAL.holds(1)
    UNCONDITIONAL.ensure(7)
    assert none_match(None, 1)


def test_a_failed_precondition_names_the_current_tag() -> None:
    with pytest.raises(PreconditionFailed) as refused:
        IfMatch('"1"').ensure(2)
    assert refused.value.status == 412
    assert refused.value.code == "precondition_failed"
    assert refused.value.extra == {"current_etag": '"2"'}


@given(versions, versions)
def test_if_match_holds_exactly_for_the_current_version(sent: int, current: int) -> None:
    assert IfMatch.of_version(sent).holds(current) is (sent == current)
    assert none_match(entity_tag(sent), current) is (sent != current)


tag_texts = st.text(
    alphabet=st.characters(codec="latin-1", exclude_characters='"\x7f', min_codepoint=0x21),
    max_size=12,
)


@given(st.lists(st.tuples(st.booleans(), tag_texts), min_size=1, max_size=5), st.data())
def test_any_list_of_tags_reads_back(tags: list[tuple[bool, str]], data: st.DataObject) -> None:
    separator = data.draw(st.sampled_from([",", ", ", " ,", " , ", ",\t,"]))
    header = separator.join(f'{"W/" if weak else ""}"{text}"' for weak, text in tags)
    assert parse_tag_list(header) == tuple(EntityTag(f'"{t}"', w) for w, t in tags)


@given(st.text(max_size=40))
def test_any_header_is_read_or_refused_never_crashes(header: str) -> None:
    try:
        precondition = IfMatch(header)
    except MalformedPrecondition:
        return
    precondition.holds(1)
