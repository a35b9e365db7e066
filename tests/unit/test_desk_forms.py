"""The clerk's and the UMKM owner's form readers: whole numbers and percentages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from marketplace.web import i18n
from marketplace.web.clerk.forms import percent_of, whole_number


@given(st.integers(min_value=1, max_value=10_000_000))
def test_a_whole_number_reads_back_as_written_with_or_without_thousands_dots(n: int) -> None:
    assert whole_number(str(n)) == n
    assert whole_number(f"{n:,}".replace(",", ".")) == n


@given(st.text(max_size=20))
def test_anything_else_is_refused_or_in_bounds(raw: str) -> None:
    read = whole_number(raw, low=1, high=500)
    assert read is None or 1 <= read <= 500


def test_out_of_bounds_and_words_are_refused() -> None:
    assert whole_number("0") is None
    assert whole_number("0", low=0) == 0
    assert whole_number("-3") is None
    assert whole_number("dua") is None
    assert whole_number("10000001") is None
    assert whole_number("²") is None  # a digit to str.isdigit, not to int()
    assert whole_number("--5") is None


def test_percent_is_written_as_the_language_writes_it() -> None:
    i18n.use_language("id")
    assert (percent_of(1000), percent_of(1250), percent_of(5)) == ("10", "12,5", "0,05")
    i18n.use_language("en")
    assert percent_of(1250) == "12.5"
    i18n.use_language("id")
