"""The catalogue of every problem `code` the API can answer with, in two languages.

Each code has one HTTP status (two for `validation_failed`: the framework's 400 and the
rules' 422), a fixed title in English and in Bahasa Indonesia, and a paragraph in each
saying what it means and what to do. The texts live in `problem_texts/*.toml` (one file
per group of contexts); tests/test_problem_catalogue.py holds every code raised anywhere
to an entry here. Problem bodies take their `title` from here, and `/problems/{code}`
explains each code.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TEXTS_DIR = Path(__file__).parent / "problem_texts"
LANGUAGES = ("en", "id")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class ProblemEntry:
    code: str
    statuses: tuple[int, ...]
    title: str
    title_id: str
    about: str
    about_id: str
    # The fixed sentences a detail of this code can be, English → Indonesian; a detail
    # that carries figures stays as raised.
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return self.statuses[-1]

    def title_in(self, language: str) -> str:
        return self.title_id if language == "id" else self.title

    def about_in(self, language: str) -> str:
        return self.about_id if language == "id" else self.about

    def detail_in(self, detail: str | None, language: str) -> str | None:
        """The detail in the language, where it is this code's generic sentence."""
        if language == "id" and detail is not None:
            return self.details.get(detail, detail)
        return detail


def _entry(code: str, raw: dict[str, object]) -> ProblemEntry:
    statuses = raw.get("statuses", [raw.get("status")])
    if not isinstance(statuses, list) or not all(isinstance(s, int) for s in statuses):
        raise ValueError(f"problem code {code!r} has no status")
    texts = {k: raw.get(k) for k in ("title", "title_id", "about", "about_id")}
    if not all(isinstance(t, str) and t for t in texts.values()):
        raise ValueError(f"problem code {code!r} lacks a title or an explanation")
    details = raw.get("details", {})
    if not isinstance(details, dict) or not all(isinstance(t, str) for t in details.values()):
        raise ValueError(f"problem code {code!r} has details that are not sentences")
    return ProblemEntry(
        code=code,
        statuses=tuple(sorted(statuses)),
        title=str(texts["title"]),
        title_id=str(texts["title_id"]),
        about=str(texts["about"]),
        about_id=str(texts["about_id"]),
        details=dict(details),
    )


@functools.cache
def catalogue() -> dict[str, ProblemEntry]:
    """Every entry by code, in code order; a code in two files is an error."""
    found: dict[str, ProblemEntry] = {}
    for path in sorted(TEXTS_DIR.glob("*.toml")):
        with path.open("rb") as source:
            for code, raw in tomllib.load(source).items():
                if code in found:
                    raise ValueError(f"{path.name}: problem code {code!r} is listed twice")
                found[code] = _entry(code, raw)
    return dict(sorted(found.items()))


def entry(code: str) -> ProblemEntry | None:
    return catalogue().get(code)


def preferred_language(accept_language: str | None) -> str:
    """The language of `LANGUAGES` an `Accept-Language` header (RFC 9110 §12.5.4) ranks
    first: highest q wins, a tie goes to the earlier range, q=0 refuses, `*` is any
    language (English). Indonesian answers to `id`, `id-ID` and the old `in`; unreadable
    items are skipped. No header, or nothing we have, is English."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in (accept_language or "")[:1000].split(","):
        tag, _, params = item.partition(";")
        primary = tag.strip().lower().split("-")[0]
        language = {"id": "id", "in": "id", "en": "en", "*": DEFAULT_LANGUAGE}.get(primary)
        q = _quality(params)
        if language is not None and q is not None and q > best_q:
            best, best_q = language, q
    return best


def _quality(params: str) -> float | None:
    """The item's q (1 when absent), or None when it isn't a q-value RFC 9110 allows."""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            if not (
                0 < len(value) <= 5 and value[0] in "01" and value.replace(".", "", 1).isdigit()
            ):
                return None
            q = float(value)
            return q if q <= 1 else None
    return 1.0
