"""Open Contracting Data Standard (OCDS 1.1) release packages of government sourcing (pure).

One contracting process per RFQ, identified by ``ocid = OCID_PREFIX + rfq id``. Each
release is a snapshot of the process as it stands (so its tags grow from ``tender`` to
``award``, ``contract`` and ``implementation``); its id carries the time of the change it
shows, so a consumer polling with ``since`` sees each state once and can de-duplicate by
release id. Quotes are sealed: tenderers appear only after the deadline, and prices only
through awards. Units are UN/CEFACT codes (scheme ``UNCEFACT``); amounts are IDR.

The OCDS prefix here is this deployment's; a production publisher registers its own with
the Open Contracting Partnership and configures it.

How the amounts relate (all integer rupiah, IDR), so a contract's value and its payments
reconcile:

- ``tender.value`` is the owner's estimate (HPS) **before VAT** — quotes are compared with it
  on their pre-VAT totals — flagged ``tender.x_valueExcludesVat: true``.
- ``awards[].value`` and ``contracts[].value`` are the purchase order as ordered **with VAT**
  (pre-VAT amount + VAT), itemised in ``x_valueBreakdown``: ``beforeVat``, ``vat``,
  ``pph22Withheld`` (1.5 % of the pre-VAT amount, withheld by the treasurer; 0 up to
  Rp2,000,000) and ``netPayable`` = value - PPh 22.
- ``contracts[].implementation.transactions[].value`` is what the treasury transferred
  (SP2D): the invoice, on what the goods receipts recorded, **net of PPh 22**. Each
  transaction carries ``x_invoice`` (``id``, ``total`` with VAT, ``pph22Withheld``), and
  ``value = x_invoice.total - x_invoice.pph22Withheld``. When everything ordered was
  received the invoice total is the contract value, so contract value - PPh 22 = the
  transaction; a short receipt invoices (and pays) less.

``x_`` fields are this publisher's additions; the standard allows them, consumers may ignore
them. A package always holds at least one release (the 1.1 package schema's ``minItems: 1``):
with nothing to publish there is no package (`build_package` refuses, the API answers 204).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

OCDS_VERSION = "1.1"
OCID_PREFIX = "ocds-kkmp01-"
PUBLISHER_NAME = "Koperasi Marketplace (KKMP)"
PARTY_SCHEME = "x_KKMP"
NPWP_SCHEME = "x_ID-NPWP"
CATEGORY_SCHEME = "x_KKMP-CATEGORY"
UNIT_SCHEME = "UNCEFACT"

_TENDER_STATUS = {
    "open": "active",
    "closed": "active",
    "awarded": "complete",
    "failed": "unsuccessful",
}


class Party(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    region_code: str
    city: str
    npwp: str | None = None


class Item(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    description: str
    quantity: int
    unit_code: str
    unit_label: str
    category: str
    unit_price: int | None = None


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    sp2d_number: str
    recorded_at: dt.datetime
    amount: int
    """What the treasury transferred: the invoice's total less the PPh 22 it withheld."""
    invoice_id: uuid.UUID
    invoice_total: int
    """The invoice with VAT, on the quantities received."""
    pph22: int


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    document_number: str | None
    recorded_at: dt.datetime


class Award(msgspec.Struct, frozen=True, kw_only=True):
    """One purchase order (surat pesanan): an OCDS award and its contract."""

    id: uuid.UUID
    supplier_id: uuid.UUID
    status: str
    """The purchase order's status."""
    created_at: dt.datetime
    items: tuple[Item, ...]
    subtotal: int
    """Before VAT, as ordered."""
    vat: int
    pph22: int
    """Withheld by the treasurer on the pre-VAT amount."""
    total: int
    """Including VAT: what the contract is worth to the buyer (``subtotal + vat``)."""
    net_payable: int
    """``total - pph22``: what the supplier is paid if everything ordered arrives."""
    receipts: tuple[Receipt, ...] = ()
    payments: tuple[Payment, ...] = ()


class Process(msgspec.Struct, frozen=True, kw_only=True):
    rfq_id: uuid.UUID
    title: str
    status: str
    """Effective RFQ status: open, closed, awarded or failed."""
    buyer_id: uuid.UUID
    published_at: dt.datetime
    deadline: dt.datetime
    released_at: dt.datetime
    budget_code: str
    ceiling_amount: int | None
    items: tuple[Item, ...]
    tenderer_ids: tuple[uuid.UUID, ...] | None
    """``None`` while quotes are sealed."""
    awards: tuple[Award, ...] = ()


def ocid(rfq_id: uuid.UUID) -> str:
    return f"{OCID_PREFIX}{rfq_id}"


def party_id(organization_id: uuid.UUID) -> str:
    return f"{PARTY_SCHEME}-{organization_id}"


def _ts(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("OCDS dates must be timezone-aware")
    return moment.isoformat()


def _value(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "IDR"}


def _ref(parties: Mapping[uuid.UUID, Party], organization_id: uuid.UUID) -> dict[str, Any]:
    return {"id": party_id(organization_id), "name": parties[organization_id].name}


def _item(item: Item) -> dict[str, Any]:
    unit: dict[str, Any] = {"scheme": UNIT_SCHEME, "id": item.unit_code, "name": item.unit_label}
    if item.unit_price is not None:
        unit["value"] = _value(item.unit_price)
    return {
        "id": str(item.line_no),
        "description": item.description,
        "classification": {
            "scheme": CATEGORY_SCHEME,
            "id": item.category,
            "description": item.category.replace("_", " "),
        },
        "quantity": item.quantity,
        "unit": unit,
    }


def _award_status(po_status: str) -> str:
    return "cancelled" if po_status == "declined" else "active"


def _contract_status(po_status: str) -> str:
    if po_status == "declined":
        return "cancelled"
    if po_status == "paid":
        return "terminated"
    return "active"


def build_release(process: Process, parties: Mapping[uuid.UUID, Party]) -> dict[str, Any]:
    roles: dict[uuid.UUID, list[str]] = {process.buyer_id: ["buyer", "procuringEntity", "payer"]}
    for tenderer in process.tenderer_ids or ():
        roles.setdefault(tenderer, []).append("tenderer")
    for award in process.awards:
        supplier_roles = roles.setdefault(award.supplier_id, [])
        for role in ("tenderer", "supplier"):
            if role not in supplier_roles:
                supplier_roles.append(role)
        if award.payments and "payee" not in supplier_roles:
            supplier_roles.append("payee")

    tender: dict[str, Any] = {
        "id": str(process.rfq_id),
        "title": process.title,
        "status": _TENDER_STATUS[process.status],
        "procuringEntity": _ref(parties, process.buyer_id),
        "items": [_item(i) for i in process.items],
        "procurementMethod": "selective",
        "procurementMethodDetails": "Permintaan penawaran (RFQ) to the cooperatives of the "
        "delivery city",
        "mainProcurementCategory": "goods",
        "awardCriteria": "priceOnly",
        "awardCriteriaDetails": "Lowest compliant price",
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {
            "startDate": _ts(process.published_at),
            "endDate": _ts(process.deadline),
        },
    }
    if process.ceiling_amount is not None:
        tender["value"] = _value(process.ceiling_amount)
        tender["x_valueExcludesVat"] = True
    if process.tenderer_ids is not None:
        tender["numberOfTenderers"] = len(process.tenderer_ids)
        tender["tenderers"] = [_ref(parties, t) for t in process.tenderer_ids]

    awards: list[dict[str, Any]] = []
    contracts: list[dict[str, Any]] = []
    for award in process.awards:
        award_items = [_item(i) for i in award.items]
        breakdown = {
            "beforeVat": _value(award.subtotal),
            "vat": _value(award.vat),
            "pph22Withheld": _value(award.pph22),
            "netPayable": _value(award.net_payable),
        }
        awards.append(
            {
                "id": str(award.id),
                "status": _award_status(award.status),
                "date": _ts(award.created_at),
                "value": _value(award.total),
                "x_valueBreakdown": breakdown,
                "suppliers": [_ref(parties, award.supplier_id)],
                "items": award_items,
            }
        )
        contract: dict[str, Any] = {
            "id": str(award.id),
            "awardID": str(award.id),
            "title": f"Surat pesanan {award.id}",
            "status": _contract_status(award.status),
            "statusDetails": award.status,
            "value": _value(award.total),
            "x_valueBreakdown": breakdown,
            "items": award_items,
            "dateSigned": _ts(award.created_at),
        }
        implementation: dict[str, Any] = {}
        if award.payments:
            implementation["transactions"] = [
                {
                    "id": p.sp2d_number,
                    "source": None,
                    "date": _ts(p.recorded_at),
                    "value": _value(p.amount),
                    "payer": _ref(parties, process.buyer_id),
                    "payee": _ref(parties, award.supplier_id),
                    "uri": None,
                    "x_invoice": {
                        "id": str(p.invoice_id),
                        "total": _value(p.invoice_total),
                        "pph22Withheld": _value(p.pph22),
                    },
                }
                for p in award.payments
            ]
        if award.receipts:
            implementation["milestones"] = [
                {
                    "id": str(r.id),
                    "title": f"BAST {r.document_number}" if r.document_number else "BAST",
                    "type": "delivery",
                    "status": "met",
                    "dateMet": _ts(r.recorded_at),
                }
                for r in award.receipts
            ]
        if implementation:
            contract["implementation"] = implementation
        contracts.append(contract)

    tags = ["tender"]
    if awards:
        tags.append("award")
    if contracts:
        tags.append("contract")
    if any(a.payments or a.receipts for a in process.awards):
        tags.append("implementation")

    release: dict[str, Any] = {
        "ocid": ocid(process.rfq_id),
        "id": f"{ocid(process.rfq_id)}-{process.released_at.astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}",
        "date": _ts(process.released_at),
        "tag": tags,
        "initiationType": "tender",
        "language": "id",
        "parties": [_party(parties[org], org_roles) for org, org_roles in roles.items()],
        "buyer": _ref(parties, process.buyer_id),
        "planning": {"budget": {"id": process.budget_code, "description": "RUP/DPA"}},
        "tender": tender,
    }
    if awards:
        release["awards"] = awards
        release["contracts"] = contracts
    return release


def _party(party: Party, roles: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": party_id(party.id),
        "name": party.name,
        "identifier": {"scheme": PARTY_SCHEME, "id": str(party.id), "legalName": party.name},
        "address": {
            "locality": party.city,
            "region": party.region_code,
            "countryName": "Indonesia",
        },
        "roles": list(roles),
    }
    if party.npwp:
        out["additionalIdentifiers"] = [{"scheme": NPWP_SCHEME, "id": party.npwp}]
    return out


def build_package(
    processes: Iterable[Process],
    parties: Mapping[uuid.UUID, Party],
    *,
    uri: str,
    published_at: dt.datetime,
    publisher_uri: str | None = None,
) -> dict[str, Any]:
    """A release package (OCDS 1.1) of the processes' current releases. The package schema
    asks for at least one release, so there is no empty package: `ValueError`."""
    releases = [build_release(p, parties) for p in processes]
    if not releases:
        raise ValueError("an OCDS 1.1 release package holds at least one release")
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": _ts(published_at),
        "publisher": {"name": PUBLISHER_NAME, "scheme": None, "uid": None, "uri": publisher_uri},
        "license": None,
        "publicationPolicy": None,
        "releases": releases,
    }
