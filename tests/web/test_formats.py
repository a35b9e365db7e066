"""The page words for amounts and products (pure)."""

from __future__ import annotations

import pytest

from marketplace.web.formats import unit_suffix


@pytest.mark.parametrize(
    ("name", "unit", "shown"),
    [
        ("Beras medium", "karung 5 kg", " (karung 5 kg)"),
        ("Tempe (papan)", "papan", ""),  # the name already says it
        ("Minyak goreng 1 L", "Botol 1 L", " (Botol 1 L)"),
        ("Telur ayam per KG", "kg", ""),
        ("Gula pasir", "  ", ""),
    ],
)
def test_the_unit_follows_a_name_that_does_not_already_say_it(
    name: str, unit: str, shown: str
) -> None:
    assert unit_suffix(name, unit) == shown
