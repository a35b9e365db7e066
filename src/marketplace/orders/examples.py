"""Examples of the orders API (orders, legs, kitchen budgets, standing orders): see
`marketplace.contract_examples`. The order: SPPG Mojokerto Magersari 1 buys 20 sacks of
medium rice from KKMP Blooto (VAT-exempt staples), inside its budget period."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import (
    BERAS_MEDIUM,
    BERAS_MEDIUM_LISTING,
    BUDGET_PERIOD,
    DELIVERY_DATE,
    KITCHEN_ADDRESS,
    LATER,
    LEG,
    ORDER,
    SPPG_MAGERSARI_REGION,
    example_id,
)

DELIVERY = {"date": DELIVERY_DATE, "region_code": SPPG_MAGERSARI_REGION, "address": KITCHEN_ADDRESS}
LINE = {"product_id": BERAS_MEDIUM, "quantity": 20}
ENVELOPE = 30_000_000  # 10 operating days x 300 portions x Rp 10.000
STANDING_ORDER = example_id("standing order")

REQUESTS: dict[str, Any] = {
    "OrderCreate": {
        "delivery": DELIVERY,
        "lines": [LINE],
        "notes": "Antar sebelum pukul 07.00 lewat pintu dapur belakang.",
    },
    "LegDelivery": {"received_quantity": 19, "note": "1 karung sobek, dikembalikan ke sopir."},
    "BudgetPeriodCreate": {
        "start_date": "2026-12-01",
        "operating_days": 10,
        "bands": [{"portions_per_day": 300, "rupiah_per_portion": 10_000}],
    },
    "StandingOrderCreate": {
        "name": "Beras mingguan dapur Magersari",
        "delivery": {"region_code": SPPG_MAGERSARI_REGION, "address": KITCHEN_ADDRESS},
        "weekdays": {"1": [LINE], "4": [{"product_id": BERAS_MEDIUM, "quantity": 15}]},
        "active": True,
    },
    "StandingOrderUpdate": {"active": False},
}

RESPONSES: dict[str, dict[str, Any]] = {
    "OrderOut": {
        "id": ORDER,
        "status": "placed",
        "lines": [{"line_no": 1, **LINE, "listing_id": BERAS_MEDIUM_LISTING}],
        "budget_period_id": BUDGET_PERIOD,
    },
    "DeliveryOut": DELIVERY,
    "OrderLineOut": {"line_no": 1, **LINE, "listing_id": BERAS_MEDIUM_LISTING},
    "LegOut": {"id": LEG, "kind": "stock", "status": "reserved"},
    "PlannedLegOut": {"kind": "stock"},
    "OrderPreviewOut": {"complete": True, "shortfalls": []},
    "BudgetCheckOut": {
        "envelope": ENVELOPE,
        "committed": 12_450_000,
        "remaining": 17_550_000,
        "remaining_after_order": 16_180_000,
    },
    "SupplyShortfallOut": {"requested": 400, "unfilled": 160},
    "HeldBackOut": {"lowest_unit_price": 64_000, "cap": 62_500},
    "BudgetPeriodOut": {
        "id": BUDGET_PERIOD,
        "operating_days": 10,
        "bands": [{"portions_per_day": 300, "rupiah_per_portion": 10_000}],
        "envelope": ENVELOPE,
        "committed": 12_450_000,
        "spent": 9_870_000,
        "remaining": 17_550_000,
    },
    "BudgetReportOut": {"orders": 9, "carry_over": 0},
    "SpendLine": {"key": "rice", "amount": 9_870_000},
    "StandingOrderOut": {
        "id": STANDING_ORDER,
        "name": "Beras mingguan dapur Magersari",
        "active": True,
        "delivery_region_code": SPPG_MAGERSARI_REGION,
        "delivery_address": KITCHEN_ADDRESS,
        "weekdays": {"1": [{"line_no": 1, **LINE, "listing_id": None}]},
    },
    "StandingRunOut": {
        "delivery_date": DELIVERY_DATE,
        "outcome": "placed",
        "attempts": 1,
        "order_id": ORDER,
        "problem_code": None,
        "problem_detail": None,
        "updated_at": LATER,
    },
}
