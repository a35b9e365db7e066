"""Examples of the accounts API (organizations, API keys, invitations): see
`marketplace.contract_examples`."""

from __future__ import annotations

from typing import Any

from marketplace.example_cast import API_KEY, AT, KKMP_BLOOTO, KKMP_BLOOTO_REGION, example_id

KKMP_BLOOTO_ORGANIZATION: dict[str, Any] = {
    "id": KKMP_BLOOTO,
    "kind": "cooperative",
    "name": "KKMP Blooto",
    "slug": "kkmp-blooto",
    "region_code": KKMP_BLOOTO_REGION,
    "city": "Kota Mojokerto",
    "npwp": "0357601010000001",
    "nib": "9120035760101",
    "nik": None,
    "time_zone": "Asia/Jakarta",
    "vat_registered": False,
    "created_at": AT,
}

REQUESTS: dict[str, Any] = {
    "OrganizationCreate": {
        "kind": "cooperative",
        "name": "KKMP Blooto",
        "slug": "kkmp-blooto",
        "region_code": KKMP_BLOOTO_REGION,
        "city": "Kota Mojokerto",
        "npwp": "0357601010000001",
        "nib": "9120035760101",
        "time_zone": "Asia/Jakarta",
        "vat_registered": False,
    },
    "OrganizationUpdate": {"name": "Koperasi Kelurahan Merah Putih Blooto", "vat_registered": True},
    "ApiKeyCreate": {"name": "ERP gudang Blooto", "role": "seller"},
    "InvitationCreate": {"phone": "0811 3456 7890", "role": "buyer"},
}

RESPONSES: dict[str, dict[str, Any]] = {
    "OrganizationOut": KKMP_BLOOTO_ORGANIZATION,
    "MeOut": {"role": "seller"},
    "ApiKeyOut": {
        "id": API_KEY,
        "name": "ERP gudang Blooto",
        "prefix": "mk_7QHk2Ld9",
        "role": "seller",
        "last_used_at": "2026-12-07T07:58:12+07:00",
    },
    "ApiKeyCreated": {
        "id": API_KEY,
        "name": "ERP gudang Blooto",
        "prefix": "mk_7QHk2Ld9",
        "key": "mk_7QHk2Ld9_Vn3yq0cX1bWm8TzR5aKpLs2eHd4uJf6G",
        "role": "seller",
    },
    "InvitationCreated": {
        "id": example_id("invitation"),
        "phone": "+6281134567890",
        "role": "buyer",
        "expires_at": "2026-12-14T08:15:00+07:00",
        "signup_url": "https://pasar.kopdesmerahputih.id/undangan/q8Zr1mXcT0vKa5LbN2pYw7Es",
        "whatsapp_url": (
            "https://wa.me/?text=Anda%20diundang%20ke%20KKMP%20Blooto%3A%20https%3A%2F%2F"
            "pasar.kopdesmerahputih.id%2Fundangan%2Fq8Zr1mXcT0vKa5LbN2pYw7Es"
        ),
    },
}
