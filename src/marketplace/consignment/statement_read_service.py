"""Use case: one consignment statement for the API's read, through the read pool
(`statement_read_repository`)."""

from __future__ import annotations

import uuid

from marketplace.accounts import Principal
from marketplace.consignment.schemas import StatementOut
from marketplace.consignment.statement_read_repository import StatementReads
from marketplace.errors import NotFound
from marketplace.read_pool import ReadPool


class StatementReadService:
    """`SettlementService.statement` without a unit of work: the statement is its
    cooperative's and its consignor's (or the platform's); another organization's is
    not found."""

    def __init__(self, reads: ReadPool) -> None:
        self.statements = StatementReads(reads)

    async def view(self, principal: Principal, statement_id: uuid.UUID) -> StatementOut:
        statement = await self.statements.visible_statement(
            statement_id,
            is_platform=principal.is_platform,
            organization_id=principal.organization_id,
        )
        if statement is None:
            raise NotFound("No such statement.")
        return statement
