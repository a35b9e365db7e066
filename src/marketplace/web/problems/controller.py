"""The problem catalogue as pages: every code listed, and one page per code.

The texts come straight from the catalogue's two languages: the page's own language first
(the `lang` cookie, else the browser's `Accept-Language`, else Indonesian), the other below.
An unknown code is the not-found page.
"""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.params import FromPath

from marketplace.problem_catalogue import catalogue, entry, preferred_language
from marketplace.web import i18n
from marketplace.web.controller import PageRequest, not_found_page
from marketplace.web.pages import render


def _use_page_language(request: PageRequest) -> str:
    cookie = request.cookies.get(i18n.LANGUAGE_COOKIE)
    accept = request.headers.get("accept-language")
    if cookie is None and accept:
        i18n.use_language(preferred_language(accept))
    return i18n.current_language()


class ProblemPagesController(Controller):
    path = "/problems"

    @get("/", name="problems.index", sync_to_thread=False)
    def index(self, request: PageRequest) -> Response[str]:
        language = _use_page_language(request)
        return render(
            request, "problems/index.html", entries=list(catalogue().values()), language=language
        )

    @get("/{code:str}", name="problems.show", sync_to_thread=False)
    def show(self, request: PageRequest, code: FromPath[str]) -> Response[str]:
        language = _use_page_language(request)
        found = entry(code)
        if found is None:
            return not_found_page(request)
        other = "en" if language == "id" else "id"
        return render(request, "problems/show.html", entry=found, language=language, other=other)
