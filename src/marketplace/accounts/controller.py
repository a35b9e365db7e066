"""HTTP endpoints of the accounts context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from marketplace.accounts.domain import OrganizationKind
from marketplace.accounts.domain.people import normalize_phone
from marketplace.accounts.models import ApiKey, Organization
from marketplace.accounts.people import PeopleService, invitation_link
from marketplace.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeyPage,
    InvitationCreate,
    InvitationCreated,
    MeOut,
    OrganizationCreate,
    OrganizationOut,
    OrganizationPage,
    OrganizationUpdate,
)
from marketplace.accounts.service import AccountsService, OrganizationReadService
from marketplace.answers import from_row
from marketplace.conditional_requests import (
    IfMatchHeader,
    IfNoneMatchHeader,
    conditional_read_responses,
    conditional_write_responses,
    etag_header,
    fresh_or_tagged,
    if_match,
    tagged,
)
from marketplace.dependencies import READ_POOL, Caller, UoW, key_revocations, read_pool
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.whatsapp import share_url


def organization_out(o: Organization) -> OrganizationOut:
    return from_row(OrganizationOut, o)


def api_key_out(k: ApiKey) -> ApiKeyOut:
    return from_row(ApiKeyOut, k)


class OrganizationController(Controller):
    path = "/v1"
    tags = ["accounts"]

    @get(
        "/me",
        operation_id="getMe",
        description=(
            "The organization and role of the API key making the request: a quick way to "
            "check a key works."
        ),
        summary="Who am I",
        responses=problem_responses(401),
    )
    async def me(self, uow: UoW, principal: Caller) -> MeOut:
        organization = await AccountsService(uow).get_organization(
            principal, principal.organization_id
        )
        return MeOut(
            organization=organization_out(organization),
            role=principal.role,
            api_key_id=principal.key_id,
        )

    @post(
        "/organizations",
        operation_id="createOrganization",
        description=(
            "A platform admin onboards an organization: its kind (cooperative, UMKM, "
            "kitchen, government office...), legal name, NPWP, region code and time zone."
            " A taken slug is 409 `accounts.slug_taken`; a malformed NPWP or region code "
            "is 422 `accounts.invalid_identifier`."
        ),
        summary="Onboard an organization (platform admin)",
        responses=problem_responses(400, 401, 403, 409, 422),
    )
    async def create_organization(
        self, data: JSONBody[OrganizationCreate], uow: UoW, principal: Caller
    ) -> OrganizationOut:
        organization = await AccountsService(uow).create_organization(principal, data)
        await uow.commit()
        return organization_out(organization)

    @get(
        "/organizations",
        operation_id="listOrganizations",
        description=(
            "The organizations you can see: your own; the platform sees all. `kind` and "
            "`region` (a Kemendagri code prefix such as `35.76`) filter."
        ),
        summary="Organizations you can see (the platform sees all)",
        responses=problem_responses(400, 401),
    )
    async def list_organizations(
        self,
        uow: UoW,
        principal: Caller,
        kind: FromQuery[OrganizationKind | None] = None,
        region: Annotated[
            str | None, Parameter(description="Kemendagri region code prefix", max_length=13)
        ] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> OrganizationPage:
        rows = await AccountsService(uow).list_organizations(
            principal,
            kind=kind,
            region_prefix=region,
            after=decode_id_cursor(cursor),
            limit=limit + 1,
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return OrganizationPage(
            items=[organization_out(o) for o in page],
            next_cursor=next_cursor,
        )

    @get(
        "/organizations/{organization_id:uuid}",
        operation_id="getOrganization",
        description=(
            "One organization: your own, or any for the platform. Another organization is 404."
        ),
        summary="One organization",
        dependencies=READ_POOL,
        responses=conditional_read_responses(401, 404),
        response_headers=etag_header("the organization"),
    )
    async def get_organization(
        self,
        organization_id: FromPath[uuid.UUID],
        state: State,
        principal: Caller,
        if_none_match: IfNoneMatchHeader = None,
    ) -> Response[OrganizationOut]:
        reads = OrganizationReadService(read_pool(state))
        columns, version = await reads.organization(principal, organization_id)
        answer = msgspec.convert(columns, OrganizationOut)
        return fresh_or_tagged(answer, version, if_none_match)

    @patch(
        "/organizations/{organization_id:uuid}",
        operation_id="updateOrganization",
        description=(
            "An organization's `admin` key (or a platform admin) changes its details: "
            "name, city, identifiers (NIB, NIK, NPWP), region code, time zone or VAT "
            "registration. Identifiers are checked as on creation."
        ),
        summary="Change an organization's details (its admin or the platform)",
        responses=conditional_write_responses(400, 401, 403, 404, 422),
        response_headers=etag_header("the organization as changed"),
    )
    async def update_organization(
        self,
        organization_id: FromPath[uuid.UUID],
        data: JSONBody[OrganizationUpdate],
        uow: UoW,
        principal: Caller,
        if_match_header: IfMatchHeader = None,
    ) -> Response[OrganizationOut]:
        precondition = if_match(if_match_header)
        organization = await AccountsService(uow).update_organization(
            principal, organization_id, data, precondition
        )
        await uow.commit()
        return tagged(organization_out(organization), organization.version)

    @post(
        "/organizations/{organization_id:uuid}/api-keys",
        operation_id="createApiKey",
        description=(
            "An organization's `admin` key (or a platform admin) creates an API key with "
            "a role and a name. The secret is in this answer only; store it now, it "
            "cannot be shown again."
        ),
        summary="Create an API key; the key is shown only in this response",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def create_api_key(
        self,
        organization_id: FromPath[uuid.UUID],
        data: JSONBody[ApiKeyCreate],
        uow: UoW,
        principal: Caller,
    ) -> ApiKeyCreated:
        key, secret = await AccountsService(uow).create_api_key(principal, organization_id, data)
        await uow.commit()
        return from_row(ApiKeyCreated, key, key=secret)

    @post(
        "/organizations/{organization_id:uuid}/invitations",
        operation_id="invitePerson",
        summary="Invite a person: a one-time sign-up link for the pages, to send over WhatsApp",
        description=(
            "An organization admin invites a person by phone number with a role. The answer "
            "holds the sign-up link (shown only here; it expires after 7 days and works once) "
            "and a `wa.me` link that opens WhatsApp with the invitation written out in "
            "Indonesian. A person who is already a member gets 409 `accounts.already_member`."
        ),
        responses=problem_responses(400, 401, 403, 404, 409, 422),
    )
    async def invite_person(
        self,
        organization_id: FromPath[uuid.UUID],
        data: JSONBody[InvitationCreate],
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, State],
    ) -> InvitationCreated:
        issued = await PeopleService(uow).invite(
            principal,
            organization_id,
            phone=data.phone,
            role=data.role,
            now=dt.datetime.now(dt.UTC),
        )
        organization = await AccountsService(uow).get_organization(principal, organization_id)
        await uow.commit()
        link = invitation_link(str(request.base_url), issued.token)
        return InvitationCreated(
            id=issued.id,
            organization_id=organization_id,
            phone=normalize_phone(data.phone),
            role=data.role,
            expires_at=issued.expires_at,
            signup_url=link,
            whatsapp_url=share_url(f"Anda diundang ke {organization.name}: {link}"),
        )

    @get(
        "/organizations/{organization_id:uuid}/api-keys",
        operation_id="listApiKeys",
        description=(
            "An organization's API keys with their role, name, prefix and last use; never"
            " the secrets. Needs an `admin` key of that organization or a platform admin."
        ),
        summary="An organization's API keys (never the secrets)",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def list_api_keys(
        self,
        organization_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> ApiKeyPage:
        rows = await AccountsService(uow).list_api_keys(
            principal, organization_id, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return ApiKeyPage(
            items=[api_key_out(k) for k in page],
            next_cursor=next_cursor,
        )

    @delete(
        "/api-keys/{key_id:uuid}",
        operation_id="revokeApiKey",
        description=(
            "Revokes an API key at once: every API process drops it before this answers, "
            "so its next request is 401. An organization admin revokes its own "
            "organization's keys; a platform admin any key. Another organization's key is"
            " 404."
        ),
        summary="Revoke an API key",
        status_code=200,
        responses=problem_responses(401, 403, 404),
    )
    async def revoke_api_key(
        self, key_id: FromPath[uuid.UUID], uow: UoW, principal: Caller, state: State
    ) -> Response[ApiKeyOut]:
        key = await AccountsService(uow).revoke_api_key(
            principal, key_id, revocations=key_revocations(state)
        )
        # The commit announces the revocation: every API process drops the key from its
        # principal cache before we answer.
        await uow.commit()
        return Response(api_key_out(key), status_code=200)
