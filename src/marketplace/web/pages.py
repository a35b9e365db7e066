"""Rendering a page and the state a page session keeps (who, for whom, the CSRF token).

The session (server-side, `accounts.PostgresSessionStore`) holds the signed-in person's id,
the organization they act for and the token every form carries back. A POST whose token
is missing or differs is refused before its handler runs (`check_csrf`).
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import Request, Response
from litestar.datastructures import State
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from markupsafe import Markup

from marketplace.accounts import PostgresSessionStore
from marketplace.errors import BadRequest, DomainError
from marketplace.web import formats, i18n, names
from marketplace.web.once import once_field

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "sesi"
SESSION_STORE = "web_sessions"


class CsrfRefused(DomainError):
    code = "web.csrf_refused"
    status = 403
    title = "The form's token is missing or stale"


@pass_context
def _gettext(context: Context, message: str, /, **variables: Any) -> str:
    """Jinja's newstyle `gettext` (`_("…", n=…)` in templates), minus its two costs for the
    most common call, a label with no placeholder: `Context.call` (our `gettext_` needs no
    context) and the escaping `%` of the `Markup` with an empty mapping, which changes
    nothing when the text holds no `%`. Otherwise exactly as Jinja does it."""
    text = i18n.gettext_(message)
    # The catalogs' own text is trusted markup, as Jinja's gettext takes it; the values
    # put into it are escaped by `Markup`'s `%`.
    translated = Markup(text) if context.eval_ctx.autoescape else text  # noqa: S704
    if not variables and "%" not in text:
        return translated
    return translated % variables


def template_engine() -> JinjaTemplateEngine:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext_, i18n.ngettext_, newstyle=True
    )
    environment.globals["gettext"] = _gettext  # `_` calls it by this name
    environment.globals["order_state"] = names.order_state_label
    environment.globals["once_field"] = once_field
    environment.filters["rupiah"] = formats.rupiah
    environment.filters["unit_suffix"] = lambda product: formats.unit_suffix(
        environment.getattr(product, "name"), environment.getattr(product, "unit_label")
    )
    environment.filters["long_date"] = lambda day: formats.long_date(day, i18n.current_language())
    environment.filters["percent"] = lambda bps: formats.percent(bps, i18n.current_language())
    return JinjaTemplateEngine.from_environment(environment)


def csrf_token(request: Request[Any, Any, State]) -> str:
    token: str | None = request.session.get("csrf")
    if token is None:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request[Any, Any, State]) -> None:
    """`before_request` of every page: an unsafe method must carry the session's token."""
    i18n.use_language(request.cookies.get(i18n.LANGUAGE_COOKIE) or i18n.DEFAULT_LANGUAGE)
    # PostgreSQL text can't hold NUL (the API's edge checks say the same for JSON).
    if b"%00" in request.scope.get("query_string", b"").lower():
        raise BadRequest("NUL characters are not allowed.")
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    body = await request.body()
    if b"%00" in body.lower() or b"\x00" in body:
        raise BadRequest("NUL characters are not allowed.")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf") if request.session else None
    if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
        raise CsrfRefused("The form's token is missing or stale.")


def person_id_of(request: Request[Any, Any, State]) -> uuid.UUID | None:
    raw = request.session.get("person_id") if request.session else None
    return uuid.UUID(raw) if raw else None


def organization_id_of(request: Request[Any, Any, State]) -> uuid.UUID | None:
    raw = request.session.get("organization_id") if request.session else None
    return uuid.UUID(raw) if raw else None


async def sign_in_session(
    request: Request[Any, Any, State], person_id: uuid.UUID, organization_id: uuid.UUID | None
) -> None:
    """A new session for a person who just proved who they are: a new key (the one sent
    before signing in is dropped, so no one who planted it rides along) and a new token."""
    previous = request.cookies.pop(SESSION_COOKIE, None)
    request.clear_session()  # forgets the key, so the middleware makes a new one
    state: dict[str, Any] = {"person_id": str(person_id), "csrf": secrets.token_urlsafe(32)}
    if organization_id is not None:
        state["organization_id"] = str(organization_id)
    request.set_session(state)
    store = request.app.stores.get(SESSION_STORE)
    if previous:
        await store.delete(previous)
    if isinstance(store, PostgresSessionStore):
        await store.delete_expired()  # sign-ins are rare enough to sweep on


def render(
    request: Request[Any, Any, State],
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> Response[str]:
    language = i18n.current_language()
    page = request.app.template_engine
    assert page is not None
    html = page.get_template(template).render(
        request=request,
        lang=language,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        signed_in=person_id_of(request) is not None,
        **context,
    )
    return Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Content-Language": language},
    )
