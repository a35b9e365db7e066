"""One organization through the read pool, no session and no ORM (`GET /v1/organizations/{id}`):
its answer's columns by name, then its version (the ETag)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from marketplace.accounts.schemas import OrganizationOut
from marketplace.read_pool import ReadPool

# The answer's fields, which are the table's column names.
ORGANIZATION_COLUMNS = tuple(f.name for f in msgspec.structs.fields(OrganizationOut))
ONE_ORGANIZATION_SQL = (
    f"SELECT {', '.join(ORGANIZATION_COLUMNS)}, version FROM organizations WHERE id = $1"
)


class OrganizationReads:
    def __init__(self, reads: ReadPool) -> None:
        self.reads = reads

    async def organization(self, organization_id: uuid.UUID) -> tuple[dict[str, Any], int] | None:
        rows = await self.reads.fetch(ONE_ORGANIZATION_SQL, (organization_id,))
        if not rows:
            return None
        *columns, version = rows[0]
        return dict(zip(ORGANIZATION_COLUMNS, columns, strict=True)), int(version)
