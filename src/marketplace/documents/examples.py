"""Examples of the kitchens' two-weekly report: see `marketplace.contract_examples`."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import (
    BERAS_PRICE,
    BUDGET_PERIOD,
    DELIVERY_DATE,
    LEG,
    ORDER,
    SPPG_MAGERSARI,
)

BAST = "BAST/SPPG-MOJOKERTO-MAGERSARI-1/2026/000042"

RESPONSES: dict[str, dict[str, Any]] = {
    "TwoWeeklyReportOut": {
        "kitchen_organization_id": SPPG_MAGERSARI,
        "period_id": BUDGET_PERIOD,
        "start_date": "2026-12-01",
        "end_date": "2026-12-14",
        "envelope": 30_000_000,
        "spent": 9_870_000,
        "remaining": 20_130_000,
        "distinct_suppliers": 4,
        "min_suppliers": 5,
        "suppliers_missing": 1,
        "cooperative_amount": 6_850_000,
        "cooperative_share_permille": 694,
        "local_umkm_amount": 1_540_000,
        "local_umkm_share_permille": 156,
        "currency": "IDR",
    },
    "ReportedDeliveryOut": {
        "delivery_date": DELIVERY_DATE,
        "supplier_name": "KKMP Blooto",
        "product_name": "Beras Medium 5 kg",
        "delivered_quantity": 19,
        "unit_price": BERAS_PRICE,
        "amount": 19 * BERAS_PRICE,
        "bast_number": BAST,
    },
}

OPERATIONS: dict[str, Any] = {
    "getTwoWeeklyReportCsv": (
        "tanggal_antar,no_bast,pemasok,barang,jumlah_diterima,satuan,harga_satuan,jumlah_rp,"
        "id_pesanan,id_leg\r\n"
        f"{DELIVERY_DATE},{BAST},KKMP Blooto,Beras Medium 5 kg,19,karung 5 kg,{BERAS_PRICE},"
        f"{19 * BERAS_PRICE},{ORDER},{LEG}\r\n"
    ),
}
