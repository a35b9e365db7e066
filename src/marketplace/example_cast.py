"""The cast of the contract's examples: who trades what in Kota Mojokerto (35.76).

Every context's `examples.py` draws on these, so an order's buyer in one example is the
kitchen whose budget another example shows. The names are the demo data's
(`marketplace.demo`); the ids are fixed, in the shape the API issues (UUIDv7).
`FIELDS` gives each response field that is not spelled out a plausible value by name.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any


def example_id(name: str) -> str:
    """A fixed UUIDv7-shaped id for the thing `name` (an order, KKMP Blooto...)."""
    raw = bytearray(hashlib.sha256(name.encode()).digest()[:16])
    raw[0:6] = (0x0193_8A4C_5E00 + raw[5]).to_bytes(6, "big")  # about December 2024
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(raw)))


# --- the organizations -------------------------------------------------------------------
KKMP_BLOOTO = example_id("KKMP Blooto")
KKMP_BLOOTO_REGION = "35.76.01.1001"
SPPG_MAGERSARI = example_id("SPPG Mojokerto Magersari 1")
SPPG_MAGERSARI_REGION = "35.76.02.1005"
TEMPE_BU_SRI = example_id("Tempe Bu Sri")
BULOG_MOJOKERTO = example_id("Perum Bulog Kantor Cabang Mojokerto")
PENGADAAN_MOJOKERTO = example_id("Bagian Pengadaan Barang/Jasa Pemerintah Kota Mojokerto")
DINKOP_MOJOKERTO = example_id("Dinas Koperasi dan Usaha Mikro Kota Mojokerto")
TRADE_CENTER_SURABAYA = example_id("Pusat Perdagangan Antar Kota Surabaya")
KKMP_BLITAR = example_id("KKMP Kepanjenkidul Blitar")
CITY_REGION = "35.76"
KITCHEN_ADDRESS = "Jl. Gajah Mada No. 12, Magersari, Kota Mojokerto"

# --- the goods -----------------------------------------------------------------------------
BERAS_MEDIUM = example_id("Beras Medium 5 kg")
BERAS_MEDIUM_LISTING = example_id("listing: Beras Medium 5 kg, KKMP Blooto")
BERAS_PRICE = 68_500  # rupiah per 5 kg sack
TEMPE = example_id("Tempe Kedelai 500 g")
TEMPE_LISTING = example_id("listing: Tempe Kedelai 500 g, KKMP Blooto (titipan Tempe Bu Sri)")
TEMPE_PRICE = 7_000

# --- the trade -----------------------------------------------------------------------------
ORDER = example_id("order")
LEG = example_id("leg")
PAYMENT = example_id("payment")
BUDGET_PERIOD = example_id("budget period")
AGREEMENT = example_id("consignment agreement")
INTAKE = example_id("consignment intake")
STATEMENT = example_id("consignment statement")
PAYOUT = example_id("consignment payout")
RFQ = example_id("rfq")
QUOTE = example_id("quote")
PURCHASE_ORDER = example_id("purchase order")
INVOICE = example_id("invoice")
TRADE_CONTRACT = example_id("trade contract")
ALLOTMENT = example_id("allotment")
BULOG_LOT = example_id("bulog lot")
WEBHOOK_ENDPOINT = example_id("webhook endpoint")
API_KEY = example_id("api key")

DELIVERY_DATE = "2026-12-08"
TODAY = "2026-12-07"
AT = "2026-12-07T08:15:00+07:00"
LATER = "2026-12-08T10:40:00+07:00"

# A response field no example spells out gets the value its name suggests: an id of the
# thing it names, a date, rupiah of one order of five sacks of rice.
FIELDS: dict[str, Any] = {
    "currency": "IDR",
    "created_at": AT,
    "updated_at": AT,
    "organization_id": KKMP_BLOOTO,
    "cooperative_id": KKMP_BLOOTO,
    "cooperative_organization_id": KKMP_BLOOTO,
    "seller_organization_id": KKMP_BLOOTO,
    "supplier_organization_id": KKMP_BLOOTO,
    "owner_organization_id": KKMP_BLOOTO,
    "buyer_organization_id": SPPG_MAGERSARI,
    "kitchen_organization_id": SPPG_MAGERSARI,
    "consignor_id": TEMPE_BU_SRI,
    "bulog_organization_id": BULOG_MOJOKERTO,
    "office_organization_id": DINKOP_MOJOKERTO,
    "office_id": DINKOP_MOJOKERTO,
    "trade_center_organization_id": TRADE_CENTER_SURABAYA,
    "counterparty_organization_id": TRADE_CENTER_SURABAYA,
    "product_id": BERAS_MEDIUM,
    "listing_id": BERAS_MEDIUM_LISTING,
    "order_id": ORDER,
    "leg_id": LEG,
    "payment_id": PAYMENT,
    "budget_period_id": BUDGET_PERIOD,
    "period_id": BUDGET_PERIOD,
    "agreement_id": AGREEMENT,
    "intake_id": INTAKE,
    "statement_id": STATEMENT,
    "payout_id": PAYOUT,
    "purchase_order_id": PURCHASE_ORDER,
    "invoice_id": INVOICE,
    "contract_id": None,
    "allotment_id": ALLOTMENT,
    "endpoint_id": WEBHOOK_ENDPOINT,
    "api_key_id": API_KEY,
    "event_id": example_id("event"),
    "run_id": example_id("settlement run"),
    "ledger_transaction_id": example_id("ledger transaction"),
    "standing_order_id": None,
    "region_code": KKMP_BLOOTO_REGION,
    "region_prefix": CITY_REGION,
    "line_no": 1,
    "quantity": 20,
    "unit_price": BERAS_PRICE,
    "amount": 1_370_000,
    "subtotal": 1_370_000,
    "total": 1_370_000,
    "vat": 0,
    "vat_amount": 0,
    "vat_total": 0,
    "levy_amount": 0,
    "levy_total": 0,
    "credited_amount": 0,
    "credited_total": 0,
    "reason": "Kemasan rusak saat pengiriman",
    "note": None,
    "notes": None,
    "reference": None,
    "date": DELIVERY_DATE,
    "delivery_date": DELIVERY_DATE,
    "week_start": "2026-12-07",
    "start_date": "2026-12-01",
    "end_date": "2026-12-14",
    "paid_on": TODAY,
    "received_on": TODAY,
    "next_cursor": None,
}
