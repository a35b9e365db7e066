"""Examples of the catalogue and listings API: see `marketplace.contract_examples`."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import (
    API_KEY,
    BERAS_MEDIUM,
    BERAS_MEDIUM_LISTING,
    BERAS_PRICE,
    KKMP_BLOOTO,
    KKMP_BLOOTO_REGION,
    example_id,
)

PRICE_TIERS = [
    {"min_quantity": 1, "unit_price": BERAS_PRICE},
    {"min_quantity": 50, "unit_price": 67_000},
]
BERAS_MEDIUM_SUMMARY: dict[str, Any] = {
    "id": BERAS_MEDIUM,
    "sku": "BRS-MED-5",
    "name": "Beras Medium 5 kg",
    "category": "rice",
    "unit_code": "XSA",
    "unit_label": "karung 5 kg",
    "vat_treatment": "exempt",
    "programme": None,
}

REQUESTS: dict[str, Any] = {
    "ProductCreate": {
        "sku": "BRS-SPHP-5",
        "name": "Beras SPHP Bulog 5 kg",
        "name_en": "SPHP stabilisation rice 5 kg",
        "category": "rice",
        "unit_code": "XSA",
        "unit_label": "karung 5 kg",
        "net_content": 5000,
        "net_content_unit": "GRM",
        "vat_treatment": "exempt",
        "programme": "sphp",
        "bulog_supplied": True,
        "price_caps": [{"region_prefix": "35", "max_unit_price": 62_500}],
    },
    "ProductUpdate": {"name_en": "Medium rice, 5 kg sack"},
    "ListingCreate": {
        "product_id": BERAS_MEDIUM,
        "price_tiers": PRICE_TIERS,
        "min_order_quantity": 1,
        "opening_stock": 240,
        "supply_mode": "stock",
        "status": "active",
    },
    "ListingUpdate": {
        "price_tiers": [
            {"min_quantity": 1, "unit_price": 69_000},
            {"min_quantity": 50, "unit_price": 67_500},
        ],
        "min_order_quantity": 2,
    },
    "StockMovementCreate": {
        "kind": "receive",
        "quantity": 100,
        "reason": "Kiriman dari penggilingan UD Sumber Rejeki",
        "reference": "SJ/UD-SR/2026/000318",
    },
}

RESPONSES: dict[str, dict[str, Any]] = {
    "ProductOut": {
        **BERAS_MEDIUM_SUMMARY,
        "name_en": "Medium rice 5 kg",
        "net_content": 5000,
        "net_content_unit": "GRM",
        "bulog_supplied": True,
        "price_caps": [],
    },
    "ProductSummary": BERAS_MEDIUM_SUMMARY,
    "ListingOut": {
        "id": BERAS_MEDIUM_LISTING,
        "seller_kind": "cooperative",
        "region_code": KKMP_BLOOTO_REGION,
        "price_tiers": PRICE_TIERS,
        "min_order_quantity": 1,
        "on_hand": 240,
        "reserved": 20,
        "available": 220,
    },
    "PriceTierOut": PRICE_TIERS[0],
    "StockMovementOut": {
        "id": example_id("stock movement"),
        "kind": "receive",
        "on_hand_delta": 100,
        "reserved_delta": 0,
        "on_hand_after": 340,
        "reserved_after": 20,
        "reason": "Kiriman dari penggilingan UD Sumber Rejeki",
        "reference": "SJ/UD-SR/2026/000318",
        "actor_organization_id": KKMP_BLOOTO,
        "actor_api_key_id": API_KEY,
    },
    "CatalogFeedItem": {
        "product_sku": "BRS-MED-5",
        "product_name": "Beras Medium 5 kg",
        "category": "rice",
        "unit_code": "XSA",
        "unit_label": "karung 5 kg",
        "vat_treatment": "exempt",
        "price_tiers": PRICE_TIERS,
        "available": 220,
        "seller_name": "KKMP Blooto",
        "seller_npwp": "0357601010000001",
        "seller_nib": "9120035760101",
        "producer_kind": "cooperative",
        "producer_name": "KKMP Blooto",
        "producer_npwp": "0357601010000001",
        "producer_nib": "9120035760101",
    },
}
