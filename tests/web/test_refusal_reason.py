"""A refusal no page has its own sentence for is said in the page's language: the problem
catalogue's Indonesian words, never the service's English detail on an Indonesian page."""

from __future__ import annotations

from marketplace import problem_catalogue
from marketplace.errors import InvalidTransition
from marketplace.web import i18n
from marketplace.web.refusals import reason_of, refusal_reason


def test_indonesian_pages_get_the_catalogues_words_and_english_pages_the_detail() -> None:
    refusal = InvalidTransition("A purchase order that is paid cannot take 'decline'.")
    known = problem_catalogue.entry(refusal.code)
    assert known is not None
    i18n.use_language("id")
    assert refusal_reason(refusal) == known.title_id
    assert refusal_reason(refusal) != refusal.detail
    i18n.use_language("en")
    assert refusal_reason(refusal) == refusal.detail


def test_a_generic_detail_has_its_catalogued_translation() -> None:
    code, known = next((code, e) for code, e in problem_catalogue.catalogue().items() if e.details)
    english, indonesian = next(iter(known.details.items()))
    i18n.use_language("id")
    assert reason_of(code, english) == indonesian
    assert reason_of("no.such_code", "Something odd.") == "Something odd."
    i18n.use_language("en")
