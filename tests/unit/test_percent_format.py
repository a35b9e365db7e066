"""Shares on the pages: a tenth of a percent, a decimal comma in Indonesian."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from marketplace.web.formats import percent


def test_indonesian_writes_a_decimal_comma_and_dots_between_thousands() -> None:
    assert percent(1250, "id") == "12,5 %"
    assert percent(85_833, "id") == "858,3 %"
    assert percent(123_456, "id") == "1.234,6 %"
    assert percent(-1235, "id") == "-12,4 %"  # a half tenth away from zero
    assert percent(3000, "id") == "30,0 %"


def test_english_writes_a_decimal_point() -> None:
    assert percent(1250, "en") == "12.5 %"
    assert percent(123_456, "en") == "1,234.6 %"


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_the_indonesian_figure_reads_back_within_a_half_tenth(bps: int) -> None:
    written = percent(bps, "id").removesuffix(" %").replace(".", "").replace(",", ".")
    assert abs(float(written) * 100 - bps) <= 5
