"""What the documents' endpoints answer: a PDF (OpenAPI: `application/pdf`, binary)."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from litestar.openapi.datastructures import ResponseSpec

PDF_MEDIA_TYPE = "application/pdf"
PDF_DESCRIPTION = (
    "The document as a PDF (A4), numbered once per issuer, kind and year; the same "
    "document on every request. Its QR code opens the public verification page "
    "`/cek/{token}`."
)


def pdf_responses() -> dict[int, ResponseSpec]:
    """The 200 answer's shape for the OpenAPI document."""
    return {
        200: ResponseSpec(
            data_container=bytes,
            description=PDF_DESCRIPTION,
            media_type=PDF_MEDIA_TYPE,
            generate_examples=False,
        )
    }


__all__ = [
    "PDF_DESCRIPTION",
    "PDF_MEDIA_TYPE",
    "ReportedDeliveryOut",
    "TwoWeeklyReportOut",
    "pdf_responses",
]


class ReportedDeliveryOut(msgspec.Struct, frozen=True, kw_only=True):
    leg_id: uuid.UUID
    order_id: uuid.UUID
    delivery_date: dt.date
    supplier_organization_id: uuid.UUID
    supplier_name: str
    product_id: uuid.UUID
    product_name: str
    delivered_quantity: int
    unit_price: int
    amount: int
    bast_number: str


class TwoWeeklyReportOut(msgspec.Struct, frozen=True, kw_only=True):
    kitchen_organization_id: uuid.UUID
    period_id: uuid.UUID | None
    start_date: dt.date
    end_date: dt.date
    envelope: int
    spent: int
    remaining: int
    distinct_suppliers: int
    min_suppliers: int
    suppliers_missing: int
    cooperative_amount: int
    cooperative_share_permille: int
    local_umkm_amount: int
    local_umkm_share_permille: int
    deliveries: list[ReportedDeliveryOut]
    currency: str
