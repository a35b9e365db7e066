"""The pages' words: rupiah and dates as Indonesians write them (that every string is
translated: `tests/web/test_catalogs.py`)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.web import i18n
from marketplace.web.formats import long_date, rupiah


def test_indonesian_is_the_default_and_an_unknown_language_falls_back_to_it() -> None:
    assert i18n.language_of(None) == "id"
    assert i18n.language_of("fr") == "id"
    assert i18n.language_of("en") == "en"


@pytest.mark.parametrize(
    ("amount", "written"),
    [(0, "Rp0"), (500, "Rp500"), (1_250_000, "Rp1.250.000"), (-15_000, "-Rp15.000")],
)
def test_rupiah_has_dots_between_thousands(amount: int, written: str) -> None:
    assert rupiah(amount) == written


@given(st.integers(min_value=0, max_value=10**15))
def test_rupiah_reads_back_as_the_amount(amount: int) -> None:
    written = rupiah(amount)
    assert written.startswith("Rp")
    assert int(written.removeprefix("Rp").replace(".", "")) == amount


def test_dates_are_written_in_words() -> None:
    assert long_date(dt.date(2026, 12, 2), "id") == "Rabu, 2 Desember 2026"
    assert long_date(dt.date(2026, 12, 3), "id") == "Kamis, 3 Desember 2026"
    assert long_date(dt.date(2026, 12, 2), "en") == "Wednesday, 2 December 2026"
