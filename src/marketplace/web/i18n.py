"""Bahasa Indonesia first, English second: gettext catalogs (Babel), compiled at start-up.

The `.po` files under `locale/` are the source; they are compiled in memory when the app
starts (no build step, no network). The language of a request is the `lang` cookie's, or
Indonesian.
"""

from __future__ import annotations

import contextvars
import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANGUAGE_COOKIE = "lang"

_current = contextvars.ContextVar("page_language", default=DEFAULT_LANGUAGE)


@functools.cache
def catalog(language: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        messages = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
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
