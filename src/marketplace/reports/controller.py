"""HTTP endpoints of the reports context: an office's oversight grant (set by the
platform) and the cooperatives' report, computed by SQL aggregation."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter

from marketplace.dependencies import Caller, UoW
from marketplace.http import problem_responses
from marketplace.reports.schemas import MemberCountIn, OversightCreate, OversightUpdate
from marketplace.reports.service import (
    CooperativeReport,
    MemberCountRecord,
    OversightRecord,
    ReportService,
)

_MONTH = "A month, YYYY-MM (the cooperative's local month)"
FromMonth = Annotated[
    str, QueryParameter(name="from", description=_MONTH, pattern=r"^\d{4}-\d{2}$")
]
ToMonth = Annotated[str, QueryParameter(name="to", description=_MONTH, pattern=r"^\d{4}-\d{2}$")]
_OVERSIGHT = "/organizations/{organization_id:uuid}/oversight"


class ReportController(Controller):
    path = "/v1"
    tags = ["reports"]

    @post(
        _OVERSIGHT,
        operation_id="grantOversight",
        description=(
            "A platform admin gives a government office (e.g. Dinas Koperasi Kota "
            "Mojokerto) oversight of a region's cooperatives: the office then reads their"
            " reports. An office that already has it is 409 `reports.oversight_exists`."
        ),
        summary="Give a government office oversight of a region's cooperatives (platform)",
        responses=problem_responses(400, 401, 403, 404, 409, 422),
    )
    async def grant(
        self,
        organization_id: FromPath[uuid.UUID],
        data: JSONBody[OversightCreate],
        uow: UoW,
        principal: Caller,
    ) -> OversightRecord:
        found = await ReportService(uow).grant(
            principal,
            organization_id,
            data.region_prefix,
            data.turnover_target_bps,
            data.members_target_bps,
        )
        await uow.commit()
        return found

    @get(
        _OVERSIGHT,
        operation_id="getOversight",
        description=(
            "A government office's oversight: the region it watches and its programme "
            "targets. Visible to the office and the platform. An organization that is not"
            " an office is 422 `reports.not_an_office`."
        ),
        summary="The office's oversight: its region and programme targets",
        responses=problem_responses(400, 401, 404, 422),
    )
    async def get_oversight(
        self, organization_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> OversightRecord:
        return await ReportService(uow).get(principal, organization_id)

    @patch(
        _OVERSIGHT,
        operation_id="updateOversight",
        description=("A platform admin changes an office's overseen region or programme targets."),
        summary="Change an office's region or targets (platform)",
        responses=problem_responses(400, 401, 403, 404, 422),
    )
    async def update_oversight(
        self,
        organization_id: FromPath[uuid.UUID],
        data: JSONBody[OversightUpdate],
        uow: UoW,
        principal: Caller,
    ) -> OversightRecord:
        found = await ReportService(uow).change(
            principal,
            organization_id,
            data.region_prefix,
            data.turnover_target_bps,
            data.members_target_bps,
        )
        await uow.commit()
        return found

    @delete(
        _OVERSIGHT,
        operation_id="withdrawOversight",
        description=(
            "A platform admin withdraws a government office's oversight: it no longer "
            "sees the region's cooperatives or their reports. An office without oversight"
            " is 404 `reports.oversight_not_found`."
        ),
        summary="Withdraw an office's oversight (platform)",
        responses=problem_responses(400, 401, 403, 404, 422),
        status_code=204,
    )
    async def withdraw(
        self, organization_id: FromPath[uuid.UUID], uow: UoW, principal: Caller
    ) -> Response[None]:
        await ReportService(uow).withdraw(principal, organization_id)
        await uow.commit()
        return Response(None, status_code=204)

    @put(
        "/reports/cooperatives/{cooperative_id:uuid}/members/{month:str}",
        operation_id="recordCooperativeMembers",
        summary="A cooperative records how many members it has in a month (YYYY-MM)",
        description="The month is the cooperative's own, this one or before; recording it "
        "again replaces it. The report counts a month's members as the last count recorded "
        "for it or before, against the office's members target.",
        responses=problem_responses(400, 401, 403, 404, 422),
    )
    async def record_members(
        self,
        cooperative_id: FromPath[uuid.UUID],
        month: FromPath[str],
        data: JSONBody[MemberCountIn],
        uow: UoW,
        principal: Caller,
    ) -> MemberCountRecord:
        found = await ReportService(uow).record_members(
            principal, cooperative_id, month, data.members
        )
        await uow.commit()
        return found

    @get(
        "/reports/cooperatives",
        operation_id="getCooperativesReport",
        summary="Cooperatives' figures per month and in total (an office: its region's; "
        "a cooperative: its own)",
        description="Turnover by buyer kind and consignment sales (delivered legs, pre-VAT), "
        "growth against the same month a year before and against the office's target, "
        "distinct buyers, UMKM consignors and what they earned, purchases from Bulog, "
        "the local share of supply (consignment goods and Bulog purchases from the "
        "cooperative's own city), trade-contract shipments and their levy; members as "
        "recorded, against a year before and the members target. Ratios are "
        "basis points, null where their base is zero.",
        responses=problem_responses(400, 401, 403, 404, 422),
    )
    async def cooperatives_report(
        self,
        uow: UoW,
        principal: Caller,
        from_month: FromMonth,
        to_month: ToMonth,
        office: Annotated[
            uuid.UUID | None, Parameter(description="The office (default: yours)")
        ] = None,
        cooperative: Annotated[
            uuid.UUID | None, Parameter(description="One cooperative only")
        ] = None,
    ) -> CooperativeReport:
        return await ReportService(uow).cooperatives_report(
            principal, from_month, to_month, office, cooperative
        )
