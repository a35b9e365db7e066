"""The pages: sign in, accept an invitation, choose an organization, sign out, today.

Each handler calls the accounts services in the request's one unit of work (never the HTTP
API) and commits once. Expected refusals are answered with the page again and a message
next to the field; another organization's object is not found, as on the API.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import (
    AlreadyMember,
    MembershipRecord,
    OrganizationKind,
    PeopleService,
    PersonRecord,
    Principal,
    Role,
    acting_for,
    invitation_link,
)
from marketplace.accounts.domain import (
    InvalidPhone,
    InvitationUnusable,
    SignInRefused,
    TooManyAttempts,
    WeakPassword,
)
from marketplace.client_address import client_address
from marketplace.dependencies import UoW
from marketplace.errors import NotFound
from marketplace.reports import ReportService
from marketplace.web import i18n
from marketplace.web.i18n import gettext_ as _
from marketplace.web.pages import (
    organization_id_of,
    person_id_of,
    render,
    sign_in_session,
)
from marketplace.whatsapp import share_url

PageRequest = Request[Any, Any, State]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def field_of(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


_field = field_of


def landing_of(kind: OrganizationKind | None, *, oversees: bool = False) -> str:
    """Where a person lands after signing in: a cooperative's clerk on the work queue, a
    UMKM owner on their goods, a city cooperative office on its city report, another
    government office on its procurement, a buyer (kitchen, food stall) on "Hari ini"."""
    if kind is OrganizationKind.COOPERATIVE:
        return "/kerja"
    if kind is OrganizationKind.UMKM:
        return "/barang-saya"
    if kind is OrganizationKind.GOVERNMENT:
        return "/kota" if oversees else "/pengadaan"
    return "/hari-ini"


async def landing_for(uow: UoW, organization_id: uuid.UUID, kind: OrganizationKind) -> str:
    oversees = kind is OrganizationKind.GOVERNMENT and await ReportService(uow).oversees(
        organization_id
    )
    return landing_of(kind, oversees=oversees)


def safe_next(path: str) -> str:
    """Only a path of this site: never another host (`//evil`, `https://…`)."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


class SignedIn:
    """Who is acting, for which organization, as the session and the database agree."""

    def __init__(
        self, person: PersonRecord, membership: MembershipRecord, principal: Principal
    ) -> None:
        self.person = person
        self.membership = membership
        self.principal = principal


async def _signed_in(request: PageRequest, uow: UoW) -> SignedIn | Redirect:
    person_id = person_id_of(request)
    if person_id is None:
        return Redirect("/masuk")
    organization_id = organization_id_of(request)
    person, membership = await PeopleService(uow).signed_in_as(person_id, organization_id)
    if person is None:
        request.clear_session()
        return Redirect("/masuk")
    if organization_id is None:
        return Redirect("/organisasi")
    if membership is None:  # the membership ended since
        request.session.pop("organization_id", None)
        return Redirect("/organisasi")
    return SignedIn(person, membership, acting_for(person_id, membership))


signed_in = _signed_in


async def signed_in_landing(
    request: PageRequest, uow: UoW, person_id: uuid.UUID, memberships: list[MembershipRecord]
) -> Redirect:
    """After sign-in: the one organization's landing page (or where a link sent them to sign
    in first: `?next=`, a surat jalan's QR code), or the choice of organization."""
    only = memberships[0] if len(memberships) == 1 else None
    await sign_in_session(request, person_id, only.organization_id if only else None)
    target = request.query_params.get("next")
    if only and target:
        return Redirect(safe_next(target), status_code=303)
    if only is None:
        return Redirect("/organisasi", status_code=303)
    landing = await landing_for(uow, only.organization_id, only.organization_kind)
    return Redirect(landing, status_code=303)


class PageController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def start(self, request: PageRequest, uow: UoW) -> Redirect:
        acting = await _signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        membership = acting.membership
        return Redirect(
            await landing_for(uow, membership.organization_id, membership.organization_kind)
        )

    # --- signing in and out ------------------------------------------------------------

    @get("/masuk")
    async def sign_in_page(self, request: PageRequest) -> Response[str]:
        return render(request, "sign_in.html", phone="", errors={})

    @post("/masuk", status_code=303)
    async def sign_in(self, request: PageRequest, uow: UoW) -> Response[Any]:
        form = await request.form()
        phone, password = _field(form, "phone"), _field(form, "password")
        address = client_address(request)
        people = PeopleService(uow)
        try:
            person = await people.authenticate(phone, password, address=address, now=_now())
        except TooManyAttempts as refused:
            minutes = max(1, (refused.retry_after_seconds + 59) // 60)
            message = i18n.ngettext_(
                "Too many failed sign-ins. Try again in %(n)d minute.",
                "Too many failed sign-ins. Try again in %(n)d minutes.",
                minutes,
            ) % {"n": minutes}
            response = render(
                request, "sign_in.html", status=429, phone=phone, errors={"form": message}
            )
            response.headers["Retry-After"] = str(refused.retry_after_seconds)
            return response
        if person is None:
            await uow.commit()  # the failure is counted
            return render(
                request,
                "sign_in.html",
                status=401,
                phone=phone,
                errors={"password": _("The phone number or the password is wrong.")},
            )
        memberships = await people.memberships(person.id)
        await uow.commit()
        return await signed_in_landing(request, uow, person.id, memberships)

    @post("/keluar", status_code=303)
    async def sign_out(self, request: PageRequest) -> Redirect:
        request.clear_session()
        return Redirect("/masuk", status_code=303)

    @post("/bahasa", status_code=303)
    async def choose_language(self, request: PageRequest) -> Redirect:
        form = await request.form()
        language = i18n.language_of(_field(form, "lang"))
        return Redirect(
            safe_next(_field(form, "next")),
            status_code=303,
            cookies=[
                Cookie(
                    key=i18n.LANGUAGE_COOKIE,
                    value=language,
                    max_age=365 * 24 * 3600,
                    httponly=True,
                    samesite="lax",
                )
            ],
        )

    # --- invitations -------------------------------------------------------------------

    @get("/undangan/{token:str}")
    async def invitation_page(
        self, request: PageRequest, uow: UoW, token: FromPath[str]
    ) -> Response[str]:
        try:
            phone, organization = await PeopleService(uow).pending_invitation(token, _now())
        except InvitationUnusable:
            return await _unusable_invitation(request, uow)
        return render(
            request,
            "invitation.html",
            token=token,
            phone=phone,
            organization=organization,
            name="",
            email="",
            errors={},
        )

    @post("/undangan/{token:str}", status_code=303)
    async def accept_invitation(
        self, request: PageRequest, uow: UoW, token: FromPath[str]
    ) -> Response[Any]:
        form = await request.form()
        name, email = _field(form, "name").strip(), _field(form, "email").strip()
        password = _field(form, "password")
        people = PeopleService(uow)
        try:
            phone, organization = await people.pending_invitation(token, _now())
        except InvitationUnusable:
            return await _unusable_invitation(request, uow)
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = _("Write your name.")
        if email and "@" not in email:
            errors["email"] = _("This is not an e-mail address.")
        if password != _field(form, "password_again"):
            errors["password_again"] = _("The two passwords differ.")
        if not errors:
            try:
                person = await people.accept_invitation(
                    token, name=name, password=password, email=email or None, now=_now()
                )
            except WeakPassword:
                errors["password"] = _("The password needs at least 8 characters.")
            except SignInRefused:
                errors["password"] = _("This number already has an account: write its password.")
            except InvitationUnusable:
                return await _unusable_invitation(request, uow)
        if errors:
            await uow.rollback()  # the invitation's row lock, nothing else
            return render(
                request,
                "invitation.html",
                status=422,
                token=token,
                phone=phone,
                organization=organization,
                name=name,
                email=email,
                errors=errors,
            )
        memberships = await people.memberships(person.id)
        await uow.commit()
        return await signed_in_landing(request, uow, person.id, memberships)

    @get("/undang")
    async def invite_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await _signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        acting.principal.require_role(Role.ADMIN)
        return render(
            request, "invite.html", membership=acting.membership, roles=list(Role), errors={}
        )

    @post("/undang", status_code=200)
    async def invite(self, request: PageRequest, uow: UoW) -> Response[Any]:
        """An organization admin's one-time sign-up link, to send over WhatsApp."""
        acting = await _signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        phone = _field(form, "phone")
        try:
            role = Role(_field(form, "role"))
        except ValueError:
            role = Role.VIEWER
        errors: dict[str, str] = {}
        try:
            issued = await PeopleService(uow).invite(
                acting.principal,
                acting.membership.organization_id,
                phone=phone,
                role=role,
                now=_now(),
            )
        except InvalidPhone:
            errors["phone"] = _("Write an Indonesian phone number, such as 0812 3456 7890.")
        except AlreadyMember:
            errors["phone"] = _("This person is already a member.")
        if errors:
            return render(
                request,
                "invite.html",
                status=422,
                membership=acting.membership,
                roles=list(Role),
                phone=phone,
                errors=errors,
            )
        await uow.commit()
        link = invitation_link(str(request.base_url), issued.token)
        message = _("You are invited to %(organization)s: %(link)s") % {
            "organization": acting.membership.organization_name,
            "link": link,
        }
        return render(
            request,
            "invited.html",
            membership=acting.membership,
            link=link,
            whatsapp=share_url(message),
            expires=issued.expires_at.astimezone(ZoneInfo(acting.membership.time_zone)).date(),
        )

    # --- acting for an organization ----------------------------------------------------

    @get("/organisasi")
    async def organizations_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        person_id = person_id_of(request)
        if person_id is None:
            return Redirect("/masuk")
        people = PeopleService(uow)
        person = await people.person(person_id)
        if person is None:
            request.clear_session()
            return Redirect("/masuk")
        return render(
            request,
            "organizations.html",
            person=person,
            memberships=await people.memberships(person_id),
            acting=organization_id_of(request),
        )

    @post("/organisasi", status_code=303)
    async def choose_organization(self, request: PageRequest, uow: UoW) -> Response[Any]:
        person_id = person_id_of(request)
        if person_id is None:
            return Redirect("/masuk", status_code=303)
        form = await request.form()
        try:
            organization_id = uuid.UUID(_field(form, "organization_id"))
            principal = await PeopleService(uow).acting_as(person_id, organization_id)
        except (ValueError, NotFound):
            return not_found_page(request)
        request.session["organization_id"] = str(organization_id)
        landing = await landing_for(uow, organization_id, principal.organization_kind)
        return Redirect(landing, status_code=303)

    @get("/organisasi/{organization_id:uuid}")
    async def organization_page(
        self, request: PageRequest, uow: UoW, organization_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await _signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        try:
            acting.principal.ensure_visible(organization_id, "organization")
        except NotFound:
            return not_found_page(request)
        return render(
            request,
            "organization.html",
            person=acting.person,
            membership=acting.membership,
            today=clock.today_in(acting.membership.time_zone),
        )


async def _unusable_invitation(request: PageRequest, uow: UoW) -> Response[str]:
    await uow.rollback()  # a row lock taken while looking, nothing else
    return render(request, "invitation_unusable.html", status=410)


def not_found_page(request: PageRequest) -> Response[str]:
    return render(request, "not_found.html", status=404)


__all__ = [
    "PageController",
    "PageRequest",
    "SignedIn",
    "field_of",
    "landing_of",
    "not_found_page",
    "safe_next",
    "signed_in",
]
