"""Examples of the consignment API: see `marketplace.contract_examples`. Tempe Bu Sri, a
UMKM, places its tempe at KKMP Blooto for a 10 % commission, settled every 14 days."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import (
    AGREEMENT,
    AT,
    INTAKE,
    KKMP_BLOOTO,
    LATER,
    PAYOUT,
    STATEMENT,
    TEMPE,
    TEMPE_BU_SRI,
    TEMPE_LISTING,
    TEMPE_PRICE,
    example_id,
)

ACCOUNT = {
    "bank_name": "BRI Unit Prajurit Kulon",
    "account_number": "003401012345507",
    "account_holder": "Sri Wahyuni",
}
CUTOFF = "2026-12-14T23:59:59+07:00"
ADJUSTMENT = example_id("consignment adjustment")
RETURN = example_id("consignment return")

REQUESTS: dict[str, Any] = {
    "AgreementCreate": {
        "consignor_id": TEMPE_BU_SRI,
        "commission_bps": 1000,
        "settlement_cycle_days": 14,
        "payout_account": ACCOUNT,
    },
    "AgreementUpdate": {"commission_bps": 800},
    "IntakeCreate": {
        "agreement_id": AGREEMENT,
        "product_id": TEMPE,
        "quantity": 120,
        "unit_price": TEMPE_PRICE,
        "expiry_date": "2026-12-10",
    },
    "IntakeConfirm": {"received_quantity": 118},
    "IntakeReject": {"reason": "Tempe sudah berjamur saat diterima."},
    "ReturnCreate": {
        "intake_id": INTAKE,
        "quantity": 12,
        "reason": "Melewati tanggal kedaluwarsa, diambil kembali oleh Bu Sri.",
    },
    "SettlementRunCreate": {"cutoff": CUTOFF},
    "AdjustmentCreate": {
        "consignor_id": TEMPE_BU_SRI,
        "amount": -35_000,
        "reason": "5 bungkus rusak di rak pajang, disepakati ditanggung bersama.",
    },
    "PayoutMarkPaid": {"bank_reference": "BRI-TRF-20261215-0093817"},
}

STATEMENT_SUMMARY: dict[str, Any] = {
    "id": STATEMENT,
    "cooperative_id": KKMP_BLOOTO,
    "consignor_id": TEMPE_BU_SRI,
    "agreement_id": AGREEMENT,
    "cutoff": CUTOFF,
    "sales_count": 96,
    "gross_sales": 672_000,
    "commission": 67_200,
    "net_sales": 604_800,
    "adjustments_total": -35_000,
    "returns_count": 1,
    "returns_quantity": 12,
    "opening_balance": 0,
    "closing_balance": 569_800,
    "payout_due": 569_800,
    "payout_id": PAYOUT,
    "payout_status": "pending",
}

RESPONSES: dict[str, dict[str, Any]] = {
    "AgreementOut": {
        "id": AGREEMENT,
        "status": "active",
        "commission_bps": 1000,
        "settlement_cycle_days": 14,
    },
    "BankAccountOut": ACCOUNT,
    "IntakeOut": {
        "id": INTAKE,
        "product_id": TEMPE,
        "listing_id": TEMPE_LISTING,
        "proposed_quantity": 120,
        "received_quantity": 118,
        "returned_quantity": 0,
        "unit_price": TEMPE_PRICE,
        "expiry_date": "2026-12-10",
        "status": "confirmed",
        "confirmed_at": LATER,
    },
    "ReturnOut": {
        "id": RETURN,
        "intake_id": INTAKE,
        "listing_id": TEMPE_LISTING,
        "quantity": 12,
        "reason": "Melewati tanggal kedaluwarsa, diambil kembali oleh Bu Sri.",
        "returned_at": LATER,
    },
    "AdjustmentOut": {
        "id": ADJUSTMENT,
        "amount": -35_000,
        "reason": "5 bungkus rusak di rak pajang, disepakati ditanggung bersama.",
        "statement_id": STATEMENT,
    },
    "SettlementRunOut": {
        "cutoff": CUTOFF,
        "statements_count": 1,
        "sales_count": 96,
        "payout_total": 569_800,
    },
    "StatementSummary": STATEMENT_SUMMARY,
    "SaleLineOut": {
        "product_id": TEMPE,
        "quantity": 10,
        "unit_price": TEMPE_PRICE,
        "gross_amount": 70_000,
        "commission_bps": 1000,
        "commission_amount": 7_000,
        "net_amount": 63_000,
        "sold_at": AT,
    },
    "PayoutOut": {
        "id": PAYOUT,
        "amount": 569_800,
        "status": "pending",
        "bank_reference": None,
        "paid_at": None,
    },
}
