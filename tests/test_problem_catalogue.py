"""Every problem code raised anywhere is in the catalogue, with one status and one title, in
both languages; `Accept-Language` is read by its q-values."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import marketplace
from marketplace import http
from marketplace.problem_catalogue import catalogue, entry, preferred_language
from marketplace.settings import Settings, load_settings
from tests.test_error_codes import all_error_classes

SRC = Path(marketplace.__file__).parent
# A problem built by hand rather than from a `DomainError`: `code="…"` or `type_uri("…")`.
LITERAL_CODE = re.compile(r"""\b(?:code=|type_uri\()"([a-z_.]+)"[,)]""")


def literal_codes() -> dict[str, str]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for code in LITERAL_CODE.findall(path.read_text()):
            found[code] = str(path.relative_to(SRC))
    return found


def raised_codes() -> dict[str, str]:
    """Every code the API can answer with, and one place it comes from."""
    found = {cls.code: f"{cls.__module__}.{cls.__qualname__}" for cls in all_error_classes()}
    found |= dict.fromkeys(http._HTTP_CODES.values(), "marketplace.http._HTTP_CODES")
    found[http.OTHER_HTTP_CODE] = "marketplace.http.OTHER_HTTP_CODE"
    found |= literal_codes()
    return found


def test_the_literal_codes_are_found() -> None:
    # The scan has something to hold: the hand-built problems of http and rate_limits.
    assert {"rate_limited", "internal_error", "service_unavailable"} <= set(literal_codes())


def test_every_raised_code_is_in_the_catalogue() -> None:
    missing = {code: at for code, at in raised_codes().items() if entry(code) is None}
    assert missing == {}


def test_the_catalogue_names_only_raised_codes() -> None:
    assert sorted(set(catalogue()) - set(raised_codes())) == []


def test_each_error_class_keeps_its_codes_status_and_title() -> None:
    for cls in all_error_classes():
        known = entry(cls.code)
        assert known is not None, cls
        assert cls.status in known.statuses, (cls, known.statuses)
        # A title a class declares is the catalogue's: one code is never raised with two.
        if "title" in vars(cls):
            assert cls.title == known.title, (cls, cls.title, known.title)


def test_every_entry_is_written_in_both_languages() -> None:
    for code, e in catalogue().items():
        assert all((e.title, e.title_id, e.about, e.about_id)), code
        assert e.title_id != e.title, code
        assert e.about_id != e.about, code
        assert all(400 <= s < 600 for s in e.statuses), code
        assert all(d and i and d != i for d, i in e.details.items()), code
    # An Indonesian title is fixed per code too, so it tells the English one's meaning.
    english = {e.title for e in catalogue().values()}
    indonesian = {e.title_id for e in catalogue().values()}
    assert len(indonesian) == len(english)


def test_a_generic_detail_is_translated_and_a_specific_one_is_kept() -> None:
    not_found = entry("not_found")
    assert not_found is not None
    assert not_found.detail_in("No such resource.", "id") == "Sumber daya itu tidak ada."
    assert not_found.detail_in("No such resource.", "en") == "No such resource."
    assert not_found.detail_in("Order 7 is not yours.", "id") == "Order 7 is not yours."


def test_every_translated_detail_is_one_the_code_is_raised_with() -> None:
    """A sentence of `details` that no source line says any more is a stale translation."""
    source = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    stale = [
        (code, sentence)
        for code, e in catalogue().items()
        for sentence in e.details
        if f'"{sentence}"' not in source
    ]
    assert stale == []


def test_accept_language_is_ranked_by_quality() -> None:
    cases = {
        None: "en",
        "": "en",
        "id": "id",
        "id-ID": "id",
        "in": "id",
        "ID": "id",
        "en-US,en;q=0.9,id;q=0.8": "en",
        "id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7": "id",
        "en;q=0.5, id;q=0.6": "id",
        "fr, id;q=0.1": "id",
        "fr, de": "en",
        "id;q=0": "en",
        "id;q=0, en;q=0": "en",
        "*": "en",
        "en;q=0.5, *;q=0.9, id;q=0.7": "en",
        "id;q=abc, en;q=0.1": "en",
        "id;q=1.5": "en",
        "id;q=0.0001": "en",  # more than three decimals is no q-value
        "id ; q=0.8 , en ; q=0.3": "id",
        "en;q=0.8, id;q=0.8": "en",  # a tie goes to the earlier
        "id;Q=0.9, en;q=0.5": "id",
    }
    assert {header: preferred_language(header) for header in cases} == cases


def scope_of(settings: Settings, host: bytes, root_path: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "https",
        "server": ("10.0.0.5", 8000),
        "path": "/v1/orders",
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", host), (b"accept-language", b"id")],
        "app": SimpleNamespace(state=SimpleNamespace(settings=settings)),
    }


def test_public_base_url_is_a_setting() -> None:
    assert load_settings({}).public_base_url is None
    base = load_settings({"PUBLIC_BASE_URL": "https://api.koperasi.id"}).public_base_url
    assert base == "https://api.koperasi.id"


def test_the_type_names_the_page_on_the_requests_origin_or_the_public_base_url() -> None:
    scope = scope_of(Settings(), b"pasar.example.id")
    assert http.problem_base(scope) == "https://pasar.example.id"
    public = Settings(public_base_url="https://api.koperasi.id/")
    assert http.problem_base(scope_of(public, b"10.0.0.5:8000")) == "https://api.koperasi.id"

    problem = http.Problem(
        type="", title="", status=404, code="not_found", detail="No such resource."
    )
    assert http.localize(problem, scope) == "id"
    assert problem.type == "https://pasar.example.id/problems/not_found"
    assert (problem.title, problem.detail) == ("Tidak ditemukan", "Sumber daya itu tidak ada.")


@given(st.text(max_size=200))
def test_any_accept_language_gives_one_of_our_languages(header: str) -> None:
    assert preferred_language(header) in {"en", "id"}
