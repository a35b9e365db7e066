"""Examples of the ledger API: see `marketplace.contract_examples`. KKMP Blooto's books
after delivering 20 sacks of rice to SPPG Mojokerto Magersari 1."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import KKMP_BLOOTO, LEG, SPPG_MAGERSARI

RESPONSES: dict[str, dict[str, Any]] = {
    "LedgerBalancesOut": {
        "organization_id": KKMP_BLOOTO,
        "accounts": [
            {
                "purpose": "seller_payable",
                "counterparty_id": None,
                "balance": 1_370_000,
                "currency": "IDR",
            },
            {
                "purpose": "cash",
                "counterparty_id": None,
                "balance": 4_825_500,
                "currency": "IDR",
            },
        ],
    },
    "AccountBalanceOut": {"purpose": "seller_payable", "counterparty_id": None, "balance": 0},
    "LedgerTransactionOut": {
        "kind": "stock_sale",
        "reference": f"stock_sale:{LEG}",
        "memo": "Penjualan stok: Beras Medium 5 kg x 20 karung",
        "entries": [
            {
                "organization_id": SPPG_MAGERSARI,
                "purpose": "buyer_receivable",
                "counterparty_id": KKMP_BLOOTO,
                "amount": 1_370_000,
                "currency": "IDR",
            },
            {
                "organization_id": KKMP_BLOOTO,
                "purpose": "seller_payable",
                "counterparty_id": SPPG_MAGERSARI,
                "amount": -1_370_000,
                "currency": "IDR",
            },
        ],
    },
}
