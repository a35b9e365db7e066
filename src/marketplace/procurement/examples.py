"""Examples of the procurement API (Bulog lots, trade contracts, government sourcing):
see `marketplace.contract_examples`.

Sourcing: Kota Mojokerto's procurement office asks for 200 sacks of medium rice for its
posyandu, KKMP Blooto quotes Rp 66.000 a sack and wins; the rice is VAT-exempt and 1.5 %
PPh 22 is withheld from the Rp 13.200.000 invoice. Trade: a Surabaya trade center buys
500 sacks a week from Mojokerto's cooperatives for KKMP Kepanjenkidul in Blitar.
"""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import (
    ALLOTMENT,
    AT,
    BERAS_MEDIUM,
    BERAS_MEDIUM_LISTING,
    BULOG_LOT,
    INVOICE,
    KKMP_BLITAR,
    KKMP_BLOOTO,
    PENGADAAN_MOJOKERTO,
    PURCHASE_ORDER,
    QUOTE,
    RFQ,
    TODAY,
    TRADE_CONTRACT,
    example_id,
)

POSYANDU = "Gudang Bagian Umum Pemkot, Jl. Gajah Mada No. 145, Kota Mojokerto"
SACKS = 200
QUOTED = 66_000
SUBTOTAL = SACKS * QUOTED  # 13.200.000
PPH22 = 198_000  # 1.5 % of the subtotal
NET = SUBTOTAL - PPH22
SP2D = "0457/SP2D/LS/BPKAD/XII/2026"
KKMP_KAUMAN = example_id("KKMP Kauman")

REQUESTS: dict[str, Any] = {
    "RfqCreate": {
        "title": "Pengadaan beras medium untuk PMT posyandu Desember 2026",
        "budget_code": "RUP-47811235",
        "ceiling_amount": 13_600_000,
        "deadline": "2026-12-10T15:00:00+07:00",
        "delivery": {"date": "2026-12-17", "region_code": "35.76.02", "address": POSYANDU},
        "evaluation_rule": "lowest_price",
        "items": [{"product_id": BERAS_MEDIUM, "quantity": SACKS}],
    },
    "QuoteCreate": {
        "delivery_promise_date": "2026-12-16",
        "lines": [{"line_no": 1, "unit_price": QUOTED}],
        "note": "Beras medium panen Mojokerto, karung 5 kg berlabel.",
    },
    "AwardCreate": {"quote_id": QUOTE, "reason": "Penawaran terendah yang memenuhi syarat."},
    "DeclineIn": {"reason": "Stok gudang terbakar, tidak sanggup memenuhi pesanan."},
    "ReceiptCreate": {
        "received_on": "2026-12-16",
        "document_number": "BAST/BPBJ-MJK/2026/000211",
        "lines": [{"line_no": 1, "quantity": SACKS}],
        "note": "Diterima lengkap di gudang Bagian Umum.",
    },
    "TreasuryPaymentCreate": {
        "amount": NET,
        "currency": "IDR",
        "paid_on": "2026-12-22",
        "sp2d_number": SP2D,
    },
    "TradeContractCreate": {
        "product_id": BERAS_MEDIUM,
        "counterparty_organization_id": KKMP_BLITAR,
        "counterparty_city_code": "35.72",
        "start_date": "2026-12-07",
        "end_date": "2027-03-28",
        "weekly_volume": 500,
        "unit_price": 64_000,
        "levy_bps": 100,
        "suppliers": [
            {"organization_id": KKMP_BLOOTO, "weekly_capacity": 300},
            {"organization_id": KKMP_KAUMAN, "weekly_capacity": 250},
        ],
    },
    "ShortfallCreate": {"quantity": 120},
    "ShipmentCreate": {
        "allotment_id": ALLOTMENT,
        "quantity": 300,
        "shipped_on": TODAY,
        "reference": "SJ/KKMP-BLOOTO/2026/000210",
    },
    "LotReceiptCreate": {"received_quantity": 300, "note": "Diterima dari gudang Bulog Sooko."},
}

PO_LINE = {
    "line_no": 1,
    "product_id": BERAS_MEDIUM,
    "description": "Beras Medium 5 kg",
    "quantity": SACKS,
    "unit_code": "XSA",
    "unit_price": QUOTED,
    "amount": SUBTOTAL,
    "vat_treatment": "exempt",
}

RESPONSES: dict[str, dict[str, Any]] = {
    "RfqOut": {
        "id": RFQ,
        "buyer_organization_id": PENGADAAN_MOJOKERTO,
        "title": "Pengadaan beras medium untuk PMT posyandu Desember 2026",
        "budget_code": "RUP-47811235",
        "ceiling_amount": 13_600_000,
        "deadline": "2026-12-10T15:00:00+07:00",
        "status": "open",
        "quote_count": None,
        "purchase_order_id": None,
    },
    "RfqDeliveryOut": {"date": "2026-12-17", "region_code": "35.76.02", "address": POSYANDU},
    "RfqItemOut": {
        "line_no": 1,
        "description": "Beras Medium 5 kg",
        "category": "rice",
        "quantity": SACKS,
        "unit_code": "XSA",
        "unit_label": "karung 5 kg",
        "vat_treatment": "exempt",
    },
    "QuoteOut": {
        "id": QUOTE,
        "rfq_id": RFQ,
        "status": "submitted",
        "total": SUBTOTAL,
        "delivery_promise_date": "2026-12-16",
        "compliant": True,
        "rank": 1,
        "non_compliance": None,
        "submitted_at": AT,
    },
    "QuoteLineOut": {"line_no": 1, "unit_price": QUOTED, "amount": SUBTOTAL},
    "PurchaseOrderOut": {
        "id": PURCHASE_ORDER,
        "rfq_id": RFQ,
        "quote_id": QUOTE,
        "buyer_organization_id": PENGADAAN_MOJOKERTO,
        "status": "issued",
        "delivery_date": "2026-12-17",
        "subtotal": SUBTOTAL,
        "vat": 0,
        "total": SUBTOTAL,
        "pph22": PPH22,
        "net_payable": NET,
        "award_reason": "Penawaran terendah yang memenuhi syarat.",
        "invoice_id": None,
        "receipts": [],
    },
    "PoLineOut": {**PO_LINE, "received_quantity": 0},
    "DeclineOut": {"rfq_status": "awarded"},
    "InvoiceOut": {
        "id": INVOICE,
        "buyer_organization_id": PENGADAAN_MOJOKERTO,
        "subtotal": SUBTOTAL,
        "dpp": 0,
        "taxable_base": 0,
        "exempt_base": SUBTOTAL,
        "vat": 0,
        "total": SUBTOTAL,
        "pph22": PPH22,
        "net_payable": NET,
    },
    "InvoiceLineOut": {k: PO_LINE[k] for k in PO_LINE if k not in {"product_id", "unit_code"}},
    "TreasuryPaymentOut": {"amount": NET, "paid_on": "2026-12-22", "sp2d_number": SP2D},
    "TradeContractOut": {
        "id": TRADE_CONTRACT,
        "counterparty_organization_id": KKMP_BLITAR,
        "counterparty_city_code": "35.72",
        "status": "active",
        "start_date": "2026-12-07",
        "end_date": "2027-03-28",
        "weekly_volume": 500,
        "unit_price": 64_000,
        "levy_bps": 100,
        "allotted": 500,
        "unplaced": 0,
    },
    "TradeContractSummary": {
        "id": TRADE_CONTRACT,
        "counterparty_organization_id": KKMP_BLITAR,
        "counterparty_city_code": "35.72",
        "status": "active",
        "start_date": "2026-12-07",
        "end_date": "2027-03-28",
        "weekly_volume": 500,
        "unit_price": 64_000,
        "levy_bps": 100,
        "unplaced": 0,
    },
    "AllotmentOut": {
        "id": ALLOTMENT,
        "position": 1,
        "declared_capacity": 300,
        "capacity": 300,
        "weekly_quantity": 300,
    },
    "WeekOut": {
        "iso_week": "2026-W50",
        "week_start": "2026-12-07",
        "volume": 500,
        "allotted": 500,
        "called_off": 500,
        "shipped": 300,
        "shipped_amount": 19_200_000,
        "levy": 192_000,
    },
    "ShipmentOut": {
        "id": example_id("trade shipment"),
        "contract_id": TRADE_CONTRACT,
        "quantity": 300,
        "amount": 19_200_000,
        "levy_amount": 192_000,
        "reference": "SJ/KKMP-BLOOTO/2026/000210",
    },
    "AllotmentShortfallOut": {},
    "BulogLotOut": {
        "id": BULOG_LOT,
        "listing_id": BERAS_MEDIUM_LISTING,
        "status": "open",
        "lot_unit": 100,
        "lot_size": 300,
        "total_demand": 260,
        "order_quantity": None,
        "unit_price": 61_000,
        "cutoff_at": "2026-12-09T12:00:00+07:00",
        "closed_at": None,
        "close_reason": None,
        "received_at": None,
        "received_quantity": None,
        "surplus": None,
        "demand_lines": None,
        "purchase_order": None,
    },
    "DemandLineOut": {"ordered_at": AT, "quantity": 20},
    "BulogPurchaseOrderOut": {
        "status": "sent",
        "quantity": 300,
        "unit_price": 61_000,
        "total": 18_300_000,
    },
    "LotReceiptOut": {"released_total": 260, "unfilled_total": 0, "surplus": 40},
    "UnfilledOut": {"demanded": 20, "released": 20, "unfilled": 0},
}

_OCID = f"ocds-kkmp01-{RFQ}"
OPERATIONS: dict[str, Any] = {
    "getOcdsReleasePackage": {
        "uri": "https://pasar.kopdesmerahputih.id/v1/procurement/ocds/releases",
        "version": "1.1",
        "publishedDate": "2026-12-07T01:15:00Z",
        "publisher": {
            "name": "Koperasi Marketplace (KKMP)",
            "scheme": None,
            "uid": None,
            "uri": "https://pasar.kopdesmerahputih.id/",
        },
        "license": None,
        "publicationPolicy": None,
        "releases": [
            {
                "ocid": _OCID,
                "id": f"{_OCID}-20261207T011500000000Z",
                "date": "2026-12-07T01:15:00Z",
                "tag": ["tender"],
                "initiationType": "tender",
                "language": "id",
                "buyer": {
                    "id": f"kkmp-org-{PENGADAAN_MOJOKERTO}",
                    "name": "Bagian Pengadaan Barang/Jasa Pemerintah Kota Mojokerto",
                },
                "planning": {"budget": {"id": "RUP-47811235", "description": "RUP/DPA"}},
                "tender": {
                    "id": RFQ,
                    "title": "Pengadaan beras medium untuk PMT posyandu Desember 2026",
                    "status": "active",
                    "procurementMethod": "open",
                    "awardCriteria": "priceOnly",
                    "tenderPeriod": {"endDate": "2026-12-10T08:00:00Z"},
                    "value": {"amount": 13_600_000, "currency": "IDR"},
                },
            }
        ],
    },
}
