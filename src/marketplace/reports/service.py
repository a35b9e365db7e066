"""Use cases of the reports context: oversight grants (platform only) and the cooperatives'
report, scoped to the caller's reach. Read-only on every other context."""

from __future__ import annotations

import uuid

import msgspec

from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.db import UnitOfWork
from marketplace.reports.domain import (
    DEFAULT_MEMBERS_TARGET_BPS,
    DEFAULT_TURNOVER_TARGET_BPS,
    CooperativeNotFound,
    NotAnOffice,
    OfficeNotFound,
    OversightExists,
    OversightNotFound,
    add_months,
    month_range,
    parse_month,
)
from marketplace.reports.domain.figures import CooperativeFigures, assemble, month_label
from marketplace.reports.domain.members import check_month
from marketplace.reports.figures_repository import FiguresRepository
from marketplace.reports.models import Oversight
from marketplace.reports.repository import MemberCountRepository, OversightRepository


class OversightRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    office_organization_id: uuid.UUID
    region_prefix: str
    turnover_target_bps: int
    members_target_bps: int


class CooperativeReport(msgspec.Struct, frozen=True, kw_only=True):
    office_id: uuid.UUID | None
    region_prefix: str | None
    first_month: str
    last_month: str
    turnover_target_bps: int
    members_target_bps: int
    months: list[str]
    cooperatives: list[CooperativeFigures]
    total: CooperativeFigures


class MemberCountRecord(msgspec.Struct, frozen=True, kw_only=True):
    cooperative_id: uuid.UUID
    month: str
    members: int


def _record(o: Oversight) -> OversightRecord:
    return msgspec.convert(o, OversightRecord, from_attributes=True)


class ReportService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.oversights = OversightRepository(uow.session)
        self.figures = FiguresRepository(uow.session)
        self.members = MemberCountRepository(uow.session)
        self.directory = OrganizationDirectory(uow)

    # --- oversight ----------------------------------------------------------------------

    async def _office(self, principal: Principal, office_id: uuid.UUID) -> None:
        """The office exists and the caller may see it (the platform, or the office)."""
        if not principal.is_platform and principal.organization_id != office_id:
            raise OfficeNotFound("No such office.", office_id=str(office_id))
        office = await self.directory.get(office_id)
        if office is None:
            raise OfficeNotFound("No such office.", office_id=str(office_id))
        if office.kind is not OrganizationKind.GOVERNMENT:
            raise NotAnOffice(
                "Only a government organization oversees cooperatives.", kind=office.kind.value
            )

    async def grant(
        self,
        principal: Principal,
        office_id: uuid.UUID,
        region_prefix: str,
        turnover_target_bps: int | None,
        members_target_bps: int | None,
    ) -> OversightRecord:
        await self._office(principal, office_id)
        principal.require_platform_admin()
        if await self.oversights.of_office(office_id) is not None:
            raise OversightExists("This office already has an oversight grant; change it.")
        oversight = Oversight(
            office_organization_id=office_id,
            region_prefix=region_prefix,
            turnover_target_bps=DEFAULT_TURNOVER_TARGET_BPS
            if turnover_target_bps is None
            else turnover_target_bps,
            members_target_bps=DEFAULT_MEMBERS_TARGET_BPS
            if members_target_bps is None
            else members_target_bps,
        )
        self.oversights.add(oversight)
        await self.oversights.session.flush()
        return _record(oversight)

    async def _grant_of(self, principal: Principal, office_id: uuid.UUID) -> Oversight:
        await self._office(principal, office_id)
        oversight = await self.oversights.of_office(office_id)
        if oversight is None:
            raise OversightNotFound("This office oversees no region.", office_id=str(office_id))
        return oversight

    async def fold_rollup(self) -> int:
        """Writers' committed roll-up changes summed into the folded rows (the worker's
        job); the report's figures are the same before and after."""
        return await self.figures.fold()

    async def oversees(self, office_id: uuid.UUID) -> bool:
        """Whether the organization is a city office with an oversight grant (where its
        people land after signing in)."""
        return await self.oversights.of_office(office_id) is not None

    async def get(self, principal: Principal, office_id: uuid.UUID) -> OversightRecord:
        return _record(await self._grant_of(principal, office_id))

    async def change(
        self,
        principal: Principal,
        office_id: uuid.UUID,
        region_prefix: str | None,
        turnover_target_bps: int | None,
        members_target_bps: int | None,
    ) -> OversightRecord:
        oversight = await self._grant_of(principal, office_id)
        principal.require_platform_admin()
        if region_prefix is not None:
            oversight.region_prefix = region_prefix
        if turnover_target_bps is not None:
            oversight.turnover_target_bps = turnover_target_bps
        if members_target_bps is not None:
            oversight.members_target_bps = members_target_bps
        await self.oversights.session.flush()
        return _record(oversight)

    async def withdraw(self, principal: Principal, office_id: uuid.UUID) -> None:
        oversight = await self._grant_of(principal, office_id)
        principal.require_platform_admin()
        await self.oversights.delete(oversight)

    # --- members ------------------------------------------------------------------------

    async def record_members(
        self, principal: Principal, cooperative_id: uuid.UUID, month: str, members: int
    ) -> MemberCountRecord:
        """A cooperative's (administrator's, or the platform's) count of its members in a
        month of its calendar, this one or before; another's cooperative is not found."""
        if not (principal.is_platform or principal.organization_id == cooperative_id):
            raise CooperativeNotFound("No such cooperative.", cooperative_id=str(cooperative_id))
        cooperative = await self.directory.get(cooperative_id)
        if cooperative is None or cooperative.kind is not OrganizationKind.COOPERATIVE:
            raise CooperativeNotFound("No such cooperative.", cooperative_id=str(cooperative_id))
        principal.require_role(Role.ADMIN)
        first_day = parse_month(month)
        check_month(first_day, cooperative.today().replace(day=1))
        await self.members.record(cooperative_id, first_day, members)
        return MemberCountRecord(
            cooperative_id=cooperative_id, month=month_label(first_day), members=members
        )

    # --- the report ---------------------------------------------------------------------

    async def cooperatives_report(
        self,
        principal: Principal,
        first: str,
        last: str,
        office_id: uuid.UUID | None = None,
        cooperative_id: uuid.UUID | None = None,
    ) -> CooperativeReport:
        """Per cooperative and in total, month by month: an office's (its oversight region),
        or one cooperative's own. Another's office or a cooperative outside the reach is
        not found."""
        principal.require_kind(OrganizationKind.GOVERNMENT, OrganizationKind.COOPERATIVE)
        months = month_range(first, last)
        prefix: str | None = None
        turnover_bps, members_bps = DEFAULT_TURNOVER_TARGET_BPS, DEFAULT_MEMBERS_TARGET_BPS
        if principal.organization_kind is OrganizationKind.COOPERATIVE:
            if office_id is not None:
                raise OfficeNotFound("No such office.", office_id=str(office_id))
            if cooperative_id not in (None, principal.organization_id):
                raise CooperativeNotFound(
                    "No such cooperative.", cooperative_id=str(cooperative_id)
                )
            cooperative_id = principal.organization_id
        else:
            if office_id is None and not principal.is_platform:
                office_id = principal.organization_id
            if office_id is not None:
                grant = await self._grant_of(principal, office_id)
                prefix = grant.region_prefix
                turnover_bps, members_bps = grant.turnover_target_bps, grant.members_target_bps
            elif cooperative_id is None:
                raise OfficeNotFound("Name the office (or the cooperative) to report on.")
        coops = await self.figures.cooperatives(prefix, cooperative_id)
        if cooperative_id is not None and not coops:
            raise CooperativeNotFound("No such cooperative.", cooperative_id=str(cooperative_id))
        rows = await self.figures.grouped(
            prefix, cooperative_id, add_months(months[0], -12), months[0], months[-1]
        )
        counts = await self.members.counts_at(
            [c for c, _n, _r in coops], add_months(months[0], -12), months[-1]
        )
        per_coop, total = assemble(
            rows,
            months,
            coops,
            turnover_bps,
            total_name="",
            total_region=prefix or "",
            members=counts,
            members_target_bps=members_bps,
        )
        return CooperativeReport(
            office_id=office_id,
            region_prefix=prefix,
            first_month=month_label(months[0]),
            last_month=month_label(months[-1]),
            turnover_target_bps=turnover_bps,
            members_target_bps=members_bps,
            months=[month_label(m) for m in months],
            cooperatives=per_coop,
            total=total,
        )
