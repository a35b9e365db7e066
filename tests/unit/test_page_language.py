"""The pages' words: every string translated; rupiah and dates as Indonesians write them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from hypothesis import given
from hypothesis import strategies as st

from marketplace.web import i18n
from marketplace.web.formats import long_date, rupiah

WEB = Path(i18n.__file__).parent
KEYWORDS = {"_": None, "ngettext_": (1, 2)}


def extracted() -> set[str]:
    found = extract_from_dir(
        str(WEB),
        method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=KEYWORDS,
    )
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_visible_string_has_a_translation(language: str) -> None:
    messages = extracted()
    assert len(messages) > 30
    catalog = i18n.catalog(language)
    untranslated = sorted(m for m in messages if language == "id" and catalog.gettext(m) == m)
    assert untranslated == []


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
