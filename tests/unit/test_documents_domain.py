"""The documents' pure rules: terbilang, document numbers, what a leg's paper is worth."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.documents.domain import DocumentFacts, DocumentKind, Fact, Line, Party, TaxLine
from marketplace.documents.domain.amounts import PricedQuantity, rupiah, totals_of
from marketplace.documents.domain.numbering import document_number, issuer_code
from marketplace.documents.domain.terbilang import LIMIT, rupiah_in_words, terbilang
from marketplace.tax import vat_for

# --- terbilang -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "nol"),
        (1, "satu"),
        (10, "sepuluh"),
        (11, "sebelas"),
        (12, "dua belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (21, "dua puluh satu"),
        (99, "sembilan puluh sembilan"),
        (100, "seratus"),
        (101, "seratus satu"),
        (111, "seratus sebelas"),
        (200, "dua ratus"),
        (1_000, "seribu"),
        (1_001, "seribu satu"),
        (1_100, "seribu seratus"),
        (2_000, "dua ribu"),
        (11_000, "sebelas ribu"),
        (100_000, "seratus ribu"),
        (101_000, "seratus satu ribu"),
        (1_000_000, "satu juta"),
        (1_001_000, "satu juta seribu"),
        (1_250_000, "satu juta dua ratus lima puluh ribu"),
        (62_500, "enam puluh dua ribu lima ratus"),
        (2_000_000_000, "dua miliar"),
        (3_000_000_000_005, "tiga triliun lima"),
        (-1_500, "minus seribu lima ratus"),
    ],
)
def test_terbilang_writes_numbers_as_indonesians_do(n: int, words: str) -> None:
    assert terbilang(n) == words


def test_rupiah_in_words_ends_with_rupiah() -> None:
    assert rupiah_in_words(1_250_000) == "satu juta dua ratus lima puluh ribu rupiah"


def test_terbilang_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="past"):
        terbilang(LIMIT)


DIGITS = {
    w: i
    for i, w in enumerate(
        ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
    )
}
SCALE = {"ribu": 10**3, "juta": 10**6, "miliar": 10**9, "triliun": 10**12}


def read_back(words: str) -> int:
    """An independent reader of Indonesian number words (the inverse of terbilang)."""
    total, group, current = 0, 0, 0
    for word in words.split():
        if word in DIGITS:
            current = DIGITS[word]
        elif word == "sepuluh":
            current = 10
        elif word == "sebelas":
            current = 11
        elif word == "seratus":
            group += 100
        elif word == "seribu":
            total += (group + current + 1) * 1000 if (group or current) else 1000
            group = current = 0
        elif word == "belas":
            current += 10
        elif word == "puluh":
            group += current * 10
            current = 0
        elif word == "ratus":
            group += current * 100
            current = 0
        elif word in SCALE:
            total += (group + current) * SCALE[word]
            group = current = 0
        else:
            raise AssertionError(f"unknown word {word!r}")
    return total + group + current


@given(st.integers(min_value=0, max_value=LIMIT - 1))
def test_terbilang_reads_back_to_the_same_number(n: int) -> None:
    words = terbilang(n)
    assert read_back(words) == n
    # The se- forms: never "satu ratus", "satu puluh", "satu belas" nor a lone "satu ribu".
    for clumsy in ("satu ratus", "satu puluh", "satu belas"):
        assert clumsy not in words
    assert not words.startswith("satu ribu")
    assert "  " not in words


# --- numbers -------------------------------------------------------------------------------


def test_a_document_number_names_series_issuer_year_and_sequence() -> None:
    code = issuer_code("kkmp-magersari")
    assert code == "KKMP-MAGERSARI"
    assert document_number(DocumentKind.DELIVERY_NOTE, code, 2026, 123) == (
        "SJ/KKMP-MAGERSARI/2026/000123"
    )
    assert document_number(DocumentKind.GOODS_RECEIPT, code, 2026, 1).startswith("BAST/")
    assert document_number(DocumentKind.CONSIGNMENT_STATEMENT, code, 2027, 7) == (
        "LK/KKMP-MAGERSARI/2027/000007"
    )
    with pytest.raises(ValueError, match="starts at 1"):
        document_number(DocumentKind.INVOICE, code, 2026, 0)


@given(st.text(max_size=120))
def test_an_issuer_code_is_short_and_safe_in_a_number(slug: str) -> None:
    code = issuer_code(slug)
    assert 1 <= len(code) <= 24
    assert all(c.isascii() and (c.isupper() or c.isdigit() or c == "-") for c in code)
    assert not code.startswith("-")
    assert not code.endswith("-")
    assert "/" not in code


@given(
    st.sampled_from(list(DocumentKind)),
    st.integers(min_value=2000, max_value=2100),
    st.integers(min_value=1, max_value=999_999),
    st.integers(min_value=1, max_value=999_999),
)
def test_distinct_sequences_give_distinct_numbers(
    kind: DocumentKind, year: int, a: int, b: int
) -> None:
    same = document_number(kind, "X", year, a) == document_number(kind, "X", year, b)
    assert same == (a == b)


# --- amounts -------------------------------------------------------------------------------


def test_rupiah_has_dots_between_thousands() -> None:
    assert rupiah(1_250_000) == "Rp1.250.000"
    assert rupiah(0) == "Rp0"
    assert rupiah(-5_000) == "-Rp5.000"


items = st.lists(
    st.builds(
        PricedQuantity,
        quantity=st.integers(min_value=0, max_value=10_000),
        unit_price=st.integers(min_value=0, max_value=10_000_000),
        vat_treatment=st.sampled_from(["standard", "exempt"]),
    ),
    max_size=20,
)


@given(items)
def test_totals_are_per_leg_vat_and_add_up(lines: list[PricedQuantity]) -> None:
    totals = totals_of(lines)
    assert totals.line_amounts == [i.quantity * i.unit_price for i in lines]
    assert totals.subtotal == sum(totals.line_amounts)
    assert totals.vat == sum(
        vat_for(a, i.vat_treatment) for a, i in zip(totals.line_amounts, lines, strict=True)
    )
    assert totals.total == totals.subtotal + totals.vat
    assert 0 <= totals.taxable_base <= totals.subtotal


def test_a_standard_rated_leg_carries_eleven_percent() -> None:
    totals = totals_of([PricedQuantity(quantity=10, unit_price=20_000, vat_treatment="standard")])
    assert (totals.subtotal, totals.vat, totals.total) == (200_000, 22_000, 222_000)


# --- stored facts --------------------------------------------------------------------------

texts = st.text(max_size=40)
parties = st.builds(
    Party, organization_id=st.uuids(), name=texts, npwp=st.none() | texts, city=texts
)


@given(
    st.builds(
        DocumentFacts,
        kind=st.sampled_from(list(DocumentKind)),
        issuer=parties,
        counterparty=parties,
        counterparty_role=texts,
        issued_on=st.dates(),
        head=st.lists(st.builds(Fact, texts, texts), max_size=3),
        lines=st.lists(
            st.builds(
                Line,
                description=texts,
                quantity=st.integers(0, 10**6),
                unit=texts,
                unit_price=st.integers(0, 10**9),
                amount=st.integers(0, 10**12),
                note=st.none() | texts,
            ),
            max_size=3,
        ),
        subtotal=st.integers(0, 10**12),
        tax_lines=st.lists(st.builds(TaxLine, texts, st.integers(-(10**9), 10**9)), max_size=3),
        total=st.integers(0, 10**12),
        order_id=st.none() | st.uuids(),
    )
)
def test_facts_read_back_from_their_stored_form_unchanged(facts: DocumentFacts) -> None:
    """What the JSONB column holds decodes to the same facts, so a re-download and the
    check page show what was issued."""
    stored = msgspec.json.decode(msgspec.json.encode(msgspec.to_builtins(facts)))
    assert msgspec.convert(stored, DocumentFacts) == facts
