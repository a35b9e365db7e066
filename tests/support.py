"""Test helpers: make organizations with API keys and call the API as them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import clock
from marketplace.accounts.domain import OrganizationKind, Role
from marketplace.accounts.schemas import ApiKeyCreate, OrganizationCreate
from marketplace.accounts.service import AccountsService
from marketplace.db import unit_of_work


def local_today() -> dt.date:
    """Today for a test organization (default time zone), as the product's rules see it:
    not `date.today()`, which is the machine's (UTC) date and a day behind after 17:00 UTC."""
    return clock.today_in(clock.DEFAULT_TIME_ZONE)


class ServiceUrls(msgspec.Struct, frozen=True):
    database_url: str
    redis_url: str


class Actor(msgspec.Struct, frozen=True):
    """One organization and one API key of it."""

    organization_id: uuid.UUID
    kind: OrganizationKind
    role: Role
    key: str
    region_code: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class Actors:
    def __init__(
        self, client: AsyncTestClient[Litestar], factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self.client = client
        self.factory = factory

    async def org(
        self,
        kind: OrganizationKind | str = OrganizationKind.COOPERATIVE,
        role: Role | str = Role.ADMIN,
        *,
        region_code: str = "35.76.02.1003",
        vat_registered: bool = False,
        **fields: Any,
    ) -> Actor:
        kind, role = OrganizationKind(kind), Role(role)
        async with unit_of_work(self.factory) as uow:
            service = AccountsService(uow)
            suffix = uuid.uuid4().hex[:12]
            if kind is OrganizationKind.PLATFORM:
                organization = await service.ensure_platform_organization()
            else:
                organization = await service.create_organization(
                    None,
                    OrganizationCreate(
                        kind=kind,
                        name=fields.pop("name", f"Test {kind.value} {suffix}"),
                        slug=f"test-{kind.value.replace('_', '-')}-{suffix}",
                        region_code=region_code,
                        city=fields.pop("city", "Kota Mojokerto"),
                        vat_registered=vat_registered,
                        **fields,
                    ),
                )
            _, key = await service.create_api_key(None, organization.id, ApiKeyCreate(role=role))
            await uow.commit()
        return Actor(
            organization_id=organization.id,
            kind=kind,
            role=role,
            key=key,
            region_code=organization.region_code,
        )

    async def key_for(self, actor: Actor, role: Role | str) -> Actor:
        async with unit_of_work(self.factory) as uow:
            _, key = await AccountsService(uow).create_api_key(
                None, actor.organization_id, ApiKeyCreate(role=Role(role))
            )
            await uow.commit()
        return msgspec.structs.replace(actor, role=Role(role), key=key)

    async def platform_admin(self) -> Actor:
        return await self.org(OrganizationKind.PLATFORM, Role.ADMIN)


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body
