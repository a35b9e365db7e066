"""Examples of the reports API (oversight, cooperative figures): see
`marketplace.contract_examples`. Dinas Koperasi Kota Mojokerto watches its city's KKMP."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import CITY_REGION, DINKOP_MOJOKERTO, KKMP_BLOOTO, KKMP_BLOOTO_REGION

REQUESTS: dict[str, Any] = {
    "OversightCreate": {
        "region_prefix": CITY_REGION,
        "turnover_target_bps": 3000,
        "members_target_bps": 1500,
    },
    "OversightUpdate": {"turnover_target_bps": 2500},
    "MemberCountIn": {"members": 412},
}

FIGURES: dict[str, Any] = {
    "turnover": 48_650_000,
    "to_kitchens": 31_200_000,
    "to_stalls": 6_150_000,
    "to_government": 9_800_000,
    "to_others": 1_500_000,
    "consignment_sales": 4_230_000,
    "buyers": 14,
    "consignors": 6,
    "consignor_earnings": 3_807_000,
    "bulog_purchases": 18_300_000,
    "supply": 41_900_000,
    "local_supply": 23_450_000,
    "local_share_bps": 5597,
    "trade_quantity": 300,
    "trade_amount": 19_200_000,
    "trade_levy": 192_000,
    "previous_turnover": 40_100_000,
    "growth_bps": 2132,
    "target_turnover": 52_130_000,
    "target_attainment_bps": 9333,
}

RESPONSES: dict[str, dict[str, Any]] = {
    "OversightRecord": {
        "office_organization_id": DINKOP_MOJOKERTO,
        "region_prefix": CITY_REGION,
        "turnover_target_bps": 3000,
        "members_target_bps": 1500,
    },
    "CooperativeReport": {
        "office_id": DINKOP_MOJOKERTO,
        "region_prefix": CITY_REGION,
        "first_month": "2026-11",
        "last_month": "2026-11",
        "turnover_target_bps": 3000,
        "members_target_bps": 1500,
        "months": ["2026-11"],
    },
    "CooperativeFigures": {
        "cooperative_id": KKMP_BLOOTO,
        "name": "KKMP Blooto",
        "region_code": KKMP_BLOOTO_REGION,
    },
    "MonthFigures": {"month": "2026-11"},
    "MemberCountRecord": {"cooperative_id": KKMP_BLOOTO, "month": "2026-11", "members": 412},
    "Figures": FIGURES,
}
