"""Bahasa Indonesia first, English second: gettext catalogs (Babel), compiled at start-up.

The `.po` files under `locale/<language>/LC_MESSAGES/` are the source, one per area of the
pages (`messages.po` for the foundation and the kitchen, others named after their area), so
that work on two areas never edits one file. They are merged and compiled in memory when the
app starts (no build step, no network). The language of a request is the `lang` cookie's, or
Indonesian.
"""

from __future__ import annotations

import contextvars
import functools
import gettext
import io
from collections.abc import Callable, Mapping
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANGUAGE_COOKIE = "lang"

_current = contextvars.ContextVar("page_language", default=DEFAULT_LANGUAGE)


def catalog_files(language: str) -> list[Path]:
    return sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))


def read_catalog(language: str) -> Catalog:
    """Every area's catalog of one language as one; a message in two areas must agree."""
    merged = Catalog(locale=language)
    for path in catalog_files(language):
        with path.open("rb") as source:
            area = read_po(source, locale=language)
        for message in area:
            if not message.id:
                continue
            known = merged.get(message.id)
            if known is not None and known.string != message.string:
                raise ValueError(f"{path.name}: {message.id!r} is translated differently elsewhere")
            merged[message.id] = message
    return merged


@functools.cache
def catalog(language: str) -> gettext.NullTranslations:
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(language))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def language_of(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE


def use_language(language: str) -> None:
    _current.set(language_of(language))


def current_language() -> str:
    return _current.get()


def gettext_(message: str) -> str:
    return catalog(_current.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return catalog(_current.get()).ngettext(singular, plural, n)


def per_language(build: Callable[[], Mapping[str, str]]) -> Callable[[], Mapping[str, str]]:
    """A table of words for codes, translated once per language rather than on every call:
    a page of 20 offers asks for 20 categories, and building the whole table each time
    was most of the page's gettext calls (400 a page)."""
    tables: dict[str, Mapping[str, str]] = {}

    def table() -> Mapping[str, str]:
        language = _current.get()
        found = tables.get(language)
        if found is None:
            found = tables[language] = build()
        return found

    return table
