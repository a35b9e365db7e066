"""Demo catalogue: staples with prices from public figures (late 2025), and who lists them.

SPHP rice caps (HET) per 5 kg sack: Rp12,500/kg in Java, Bali, NTB, Sulawesi, Lampung
and South Sumatra; Rp13,100 in the rest of Sumatra, NTT and Kalimantan; Rp13,500 in
Maluku and Papua. Minyakita: cap Rp15,700/L.
"""

from __future__ import annotations

import msgspec

from marketplace.listings.domain import ListingStatus, SupplyMode
from marketplace.listings.schemas import PriceCapIn, ProductCreate

ZONE_1 = ["31", "32", "33", "34", "35", "36", "51", "52", "16", "18",
          "71", "72", "73", "74", "75", "76"]  # fmt: skip
ZONE_2 = ["11", "12", "13", "14", "15", "17", "19", "21", "53", "61", "62", "63", "64", "65"]
ZONE_3 = ["81", "82", "91", "92", "93", "94", "95", "96"]


def _caps(per_unit: dict[tuple[str, ...], int]) -> list[PriceCapIn]:
    return [
        PriceCapIn(region_prefix=prefix, max_unit_price=price)
        for prefixes, price in per_unit.items()
        for prefix in prefixes
    ]


SPHP_CAPS = _caps({tuple(ZONE_1): 62_500, tuple(ZONE_2): 65_500, tuple(ZONE_3): 67_500})
MINYAKITA_CAPS = _caps({tuple(ZONE_1 + ZONE_2 + ZONE_3): 15_700})


def demo_products() -> list[ProductCreate]:
    def p(sku: str, name: str, name_en: str, category: str, unit: str, label: str,
          content: int, content_unit: str, **extra: object) -> ProductCreate:  # fmt: skip
        # Through msgspec.convert, so demo data is validated exactly like API input.
        return msgspec.convert(
            {
                "sku": sku,
                "name": name,
                "name_en": name_en,
                "category": category,
                "unit_code": unit,
                "unit_label": label,
                "net_content": content,
                "net_content_unit": content_unit,
                **{k: msgspec.to_builtins(v) for k, v in extra.items()},
            },
            ProductCreate,
        )

    return [
        p("BRS-MED-5", "Beras Medium 5 kg", "Medium rice 5 kg", "rice", "XSA", "karung 5 kg",
          5000, "GRM", bulog_supplied=True),
        p("BRS-PRM-5", "Beras Premium 5 kg", "Premium rice 5 kg", "rice", "XSA", "karung 5 kg",
          5000, "GRM", bulog_supplied=True),
        p("BRS-SPHP-5", "Beras SPHP Bulog 5 kg", "SPHP stabilisation rice 5 kg", "rice", "XSA",
          "karung 5 kg", 5000, "GRM", programme="sphp", bulog_supplied=True,
          price_caps=SPHP_CAPS),
        p("MKT-1L", "Minyak Goreng Minyakita 1 L", "Minyakita cooking oil 1 L", "oil", "XBO",
          "botol 1 L", 1000, "MLT", price_caps=MINYAKITA_CAPS),
        p("GLP-1KG", "Gula Pasir 1 kg", "Granulated sugar 1 kg", "sugar", "XPK", "pak 1 kg",
          1000, "GRM"),
        p("TLR-TRAY30", "Telur Ayam Ras (tray 30 butir)", "Chicken eggs, tray of 30", "eggs",
          "XPU", "tray 30 butir", 30, "H87"),
        p("TLR-KG", "Telur Ayam Ras per kg", "Chicken eggs per kg", "eggs", "KGM", "kg",
          1000, "GRM"),
        p("TRG-1KG", "Tepung Terigu 1 kg", "Wheat flour 1 kg", "flour", "XPK", "pak 1 kg",
          1000, "GRM"),
        p("BYM-IKAT", "Sayur Bayam (ikat)", "Spinach, bunch", "vegetables", "XBE", "ikat",
          250, "GRM"),
        p("KKG-IKAT", "Sayur Kangkung (ikat)", "Water spinach, bunch", "vegetables", "XBE",
          "ikat", 250, "GRM"),
        p("TMP-PAPAN", "Tempe (papan)", "Tempeh, slab", "processed_food", "H87", "papan",
          500, "GRM"),
        p("TAHU-10", "Tahu Putih (isi 10)", "White tofu, 10 pieces", "processed_food", "XPK",
          "pak isi 10", 10, "H87"),
        p("AYM-KG", "Ayam Potong per kg", "Broiler chicken per kg", "meat", "KGM", "kg",
          1000, "GRM"),
    ]  # fmt: skip


class DemoListing:
    def __init__(
        self,
        seller_slug: str,
        sku: str,
        tiers: list[tuple[int, int]],
        stock: int,
        *,
        moq: int = 1,
        mode: SupplyMode = SupplyMode.STOCK,
        status: ListingStatus = ListingStatus.ACTIVE,
    ) -> None:
        self.seller_slug, self.sku, self.tiers, self.stock = seller_slug, sku, tiers, stock
        self.moq, self.mode, self.status = moq, mode, status


def demo_listings(cooperative_slugs: list[str]) -> list[DemoListing]:
    listings: list[DemoListing] = []
    for i, slug in enumerate(cooperative_slugs):
        # Stock varies by store so the split engine has real choices to make.
        listings += [
            DemoListing(slug, "BRS-MED-5", [(1, 65_000), (20, 63_500), (100, 62_500)], 40 + 7 * i),
            DemoListing(slug, "MKT-1L", [(1, 15_500), (12, 15_200)], 60 + 5 * (i % 5)),
            DemoListing(slug, "GLP-1KG", [(1, 17_500), (25, 17_000)], 50 + 3 * i),
            DemoListing(slug, "TLR-TRAY30", [(1, 54_000), (10, 52_500)], 15 + 2 * (i % 7)),
            DemoListing(slug, "BRS-SPHP-5", [(1, 62_500)], 20 + i),
            DemoListing(slug, "TRG-1KG", [(1, 13_000), (20, 12_500)], 30 + i),
        ]
        if i % 3 == 0:
            # Kitchens must cook with Bulog rice: pooled into Bulog purchase lots.
            listings.append(
                DemoListing(
                    slug,
                    "BRS-PRM-5",
                    [(1, 73_000), (40, 71_500)],
                    0,
                    moq=4,
                    mode=SupplyMode.BULOG_LOT,
                )
            )
    listings += [
        DemoListing("kkmp-sukorejo-blitar", "TLR-TRAY30", [(1, 52_000), (20, 50_500)], 400),
        DemoListing("kkmp-sukorejo-blitar", "TLR-KG", [(1, 28_000), (50, 27_000)], 900),
        DemoListing("rajawali-nusindo-mojokerto", "MKT-1L", [(1, 14_900)], 2_400, moq=12),
        DemoListing("rajawali-nusindo-mojokerto", "GLP-1KG", [(1, 16_500)], 3_000, moq=25),
        DemoListing("umkm-tempe-bu-sri", "TMP-PAPAN", [(1, 5_000), (50, 4_500)], 120),
        DemoListing("umkm-sayur-pak-darto", "BYM-IKAT", [(1, 3_000), (100, 2_500)], 300),
        DemoListing("umkm-sayur-pak-darto", "KKG-IKAT", [(1, 3_000), (100, 2_500)], 300),
        DemoListing("umkm-telur-blitar", "TLR-KG", [(1, 27_500), (100, 26_500)], 1_500),
        DemoListing("kkmp-magersari", "AYM-KG", [(1, 38_000), (50, 36_500)], 250),
    ]
    return listings
