"""All queries of the documents context; never commits."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.documents.domain import DocumentKind
from marketplace.documents.models import Document, DocumentCounter

_NEXT = (
    pg_insert(DocumentCounter)
    .values(
        issuer_organization_id=bindparam("issuer"),
        series=bindparam("series"),
        year=bindparam("year"),
        last=1,
    )
    .on_conflict_do_update(
        index_elements=["issuer_organization_id", "series", "year"],
        set_={"last": DocumentCounter.last + 1},
    )
    .returning(DocumentCounter.last)
)


class DocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_subject(
        self, kind: DocumentKind, subject_id: uuid.UUID, issuer_id: uuid.UUID
    ) -> Document | None:
        return await self.session.scalar(
            select(Document).where(
                Document.kind == kind.value,
                Document.subject_id == subject_id,
                Document.issuer_organization_id == issuer_id,
            )
        )

    async def of_subjects(self, kind: DocumentKind, subject_ids: list[uuid.UUID]) -> list[Document]:
        """The documents of a kind already issued for any of the subjects, in one query."""
        if not subject_ids:
            return []
        rows = await self.session.scalars(
            select(Document).where(
                Document.kind == kind.value, Document.subject_id.in_(subject_ids)
            )
        )
        return list(rows)

    async def by_token(self, token: str) -> Document | None:
        return await self.session.scalar(select(Document).where(Document.public_token == token))

    async def lock_subject(
        self, kind: DocumentKind, subject_id: uuid.UUID, issuer_id: uuid.UUID
    ) -> None:
        """Serialises issuing one subject's document until the transaction ends: a second
        request waits, then finds the first's document instead of taking a number."""
        key = f"documents:{kind.value}:{subject_id}:{issuer_id}"
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0)))
        )

    async def next_sequence(self, issuer_id: uuid.UUID, series: str, year: int) -> int:
        """The next number of the series; the counter row stays locked until commit, so
        concurrent issues of one series queue and each takes the next number."""
        result = await self.session.execute(
            _NEXT, {"issuer": issuer_id, "series": series, "year": year}
        )
        return int(result.scalar_one())

    async def add(self, document: Document) -> None:
        self.session.add(document)
        await self.session.flush()
