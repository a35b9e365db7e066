"""Fast, deterministic data for the benchmarks: set-based SQL (`generate_series`).

A catalogue of ~300 realistic products (Indonesian staples in grades, packs and origins,
their `search_text` made by the production rule `product_search_text`), seller
organizations spread over region codes, and listings over both.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import asyncpg

from marketplace.accounts.domain import OrganizationKind, Principal, Role
from marketplace.accounts.schemas import ApiKeyCreate, OrganizationCreate
from marketplace.accounts.service import AccountsService
from marketplace.db import create_engine, create_session_factory, unit_of_work
from marketplace.listings.domain import product_search_text

# name; English name; category; unit code; unit label; net content; its unit; VAT;
# single-unit price in rupiah; programme; Bulog-supplied
BASE_TABLE = """
Beras Medium 5 kg;Medium rice;rice;XSA;karung 5 kg;5000;GRM;exempt;62500;;bulog
Beras Premium 5 kg;Premium rice;rice;XSA;karung 5 kg;5000;GRM;exempt;74500;;
Beras SPHP 5 kg;SPHP rice;rice;XSA;karung 5 kg;5000;GRM;exempt;62500;sphp;bulog
Beras Pandan Wangi 5 kg;Fragrant rice;rice;XSA;karung 5 kg;5000;GRM;exempt;82000;;
Beras Merah 1 kg;Red rice;rice;XPK;pak 1 kg;1000;GRM;exempt;21000;;
Beras Ketan Putih 1 kg;Glutinous rice;rice;XPK;pak 1 kg;1000;GRM;exempt;19000;;
Minyak Goreng Minyakita 1 L;Cooking oil;oil;XBO;botol 1 L;1000;MLT;standard;15700;;
Minyak Goreng Curah 1 L;Bulk cooking oil;oil;LTR;liter;1000;MLT;standard;15000;;
Minyak Goreng Kemasan 2 L;Cooking oil 2 L;oil;XPK;pouch 2 L;2000;MLT;standard;36000;;
Gula Pasir 1 kg;Granulated sugar;sugar;XPK;pak 1 kg;1000;GRM;exempt;17500;;
Gula Merah 500 g;Palm sugar;sugar;XPK;pak 500 g;500;GRM;exempt;12000;;
Gula Aren 250 g;Arenga sugar;sugar;XPK;pak 250 g;250;GRM;exempt;11000;;
Telur Ayam Ras 1 kg;Chicken eggs;eggs;KGM;kg;1000;GRM;exempt;30000;;
Telur Ayam Ras 30 butir;Chicken eggs tray;eggs;XPU;tray 30 butir;30;H87;exempt;55000;;
Telur Bebek 10 butir;Duck eggs;eggs;XPK;pak 10 butir;10;H87;exempt;32000;;
Telur Puyuh 250 g;Quail eggs;eggs;XPK;pak 250 g;250;GRM;exempt;14000;;
Tepung Terigu 1 kg;Wheat flour;flour;XPK;pak 1 kg;1000;GRM;exempt;12000;;
Tepung Beras 500 g;Rice flour;flour;XPK;pak 500 g;500;GRM;exempt;8000;;
Tepung Tapioka 500 g;Tapioca flour;flour;XPK;pak 500 g;500;GRM;exempt;7500;;
Ayam Potong 1 kg;Broiler chicken;meat;KGM;kg;1000;GRM;exempt;38000;;
Daging Sapi 1 kg;Beef;meat;KGM;kg;1000;GRM;exempt;135000;;
Ikan Bandeng 1 kg;Milkfish;meat;KGM;kg;1000;GRM;exempt;35000;;
Ikan Lele 1 kg;Catfish;meat;KGM;kg;1000;GRM;exempt;28000;;
Sayur Bayam 1 ikat;Spinach;vegetables;XBE;ikat;250;GRM;exempt;4000;;
Sayur Kangkung 1 ikat;Water spinach;vegetables;XBE;ikat;250;GRM;exempt;4000;;
Wortel 1 kg;Carrots;vegetables;KGM;kg;1000;GRM;exempt;14000;;
Kentang 1 kg;Potatoes;vegetables;KGM;kg;1000;GRM;exempt;18000;;
Kubis 1 kg;Cabbage;vegetables;KGM;kg;1000;GRM;exempt;9000;;
Cabai Merah Keriting 250 g;Red chili;vegetables;XPK;pak 250 g;250;GRM;exempt;12000;;
Bawang Merah 1 kg;Shallots;vegetables;KGM;kg;1000;GRM;exempt;38000;;
Bawang Putih 1 kg;Garlic;vegetables;KGM;kg;1000;GRM;exempt;40000;;
Tomat 1 kg;Tomatoes;vegetables;KGM;kg;1000;GRM;exempt;12000;;
Pisang Ambon 1 sisir;Bananas;fruit;XBE;sisir;1500;GRM;exempt;25000;;
Jeruk Manis 1 kg;Oranges;fruit;KGM;kg;1000;GRM;exempt;22000;;
Pepaya California 1 buah;Papaya;fruit;H87;buah;1200;GRM;exempt;12000;;
Semangka 1 kg;Watermelon;fruit;KGM;kg;1000;GRM;exempt;9000;;
Garam Beryodium 500 g;Iodised salt;spices;XPK;pak 500 g;500;GRM;exempt;5000;;
Ketumbar Bubuk 100 g;Ground coriander;spices;XPK;pak 100 g;100;GRM;standard;6000;;
Kunyit 250 g;Turmeric;spices;XPK;pak 250 g;250;GRM;exempt;5000;;
Tempe 500 g;Tempeh;processed_food;XPK;papan 500 g;500;GRM;exempt;8000;;
Tahu Putih 10 potong;Tofu;processed_food;XPK;pak 10 potong;10;H87;exempt;10000;;
Kecap Manis 600 ml;Sweet soy sauce;processed_food;XBO;botol 600 ml;600;MLT;standard;24000;;
Mie Kering 1 kg;Dried noodles;processed_food;XPK;pak 1 kg;1000;GRM;standard;26000;;
Air Mineral Galon 19 L;Mineral water;other;H87;galon;19000;MLT;standard;20000;;
"""

Base = tuple[str, str, str, str, str, int, str, str, int, str | None, bool]


def _base(line: str) -> Base:
    name, en, cat, unit, label, net, net_unit, vat, price, programme, bulog = line.split(";")
    return (name, en, cat, unit, label, int(net), net_unit, vat, int(price), programme or None,
            bulog == "bulog")  # fmt: skip


BASES: list[Base] = [_base(line) for line in BASE_TABLE.strip().splitlines()]
ORIGINS = ["Bulog", "Mojokerto", "Blitar", "Jombang", "Kediri", "Malang", "Premium"]

# Where sellers are: Kemendagri city codes, East Java (35) on purpose the heaviest.
CITIES = [
    ("35.76", "Kota Mojokerto"), ("35.72", "Kota Blitar"), ("35.78", "Kota Surabaya"),
    ("35.73", "Kota Malang"), ("35.16", "Kabupaten Mojokerto"), ("35.05", "Kabupaten Blitar"),
    ("35.17", "Kabupaten Jombang"), ("35.71", "Kota Kediri"), ("35.76", "Kota Mojokerto"),
    ("35.78", "Kota Surabaya"), ("33.74", "Kota Semarang"), ("33.72", "Kota Surakarta"),
    ("32.73", "Kota Bandung"), ("32.76", "Kota Depok"), ("31.71", "Jakarta Pusat"),
    ("31.74", "Jakarta Selatan"), ("36.71", "Kota Tangerang"), ("51.71", "Kota Denpasar"),
    ("73.71", "Kota Makassar"), ("12.71", "Kota Medan"), ("16.71", "Kota Palembang"),
    ("64.72", "Kota Samarinda"),
]  # fmt: skip


@dataclass(frozen=True)
class SeededProduct:
    id: uuid.UUID
    name: str
    category: str
    price: int


def catalogue(count: int = 300) -> list[tuple[dict[str, object], int]]:
    """`count` product rows (column → value) with each one's typical unit price."""
    rows: list[tuple[dict[str, object], int]] = []
    for i in range(count):
        base = BASES[i % len(BASES)]
        origin = ORIGINS[(i // len(BASES)) % len(ORIGINS)]
        name, name_en, category, unit, label, net, net_unit, vat, price, programme, bulog = base
        full_name = f"{name} {origin}"
        row: dict[str, object] = {
            "id": uuid.uuid4(),
            "sku": f"BENCH-{i:04d}",
            "name": full_name,
            "name_en": name_en,
            "category": category,
            "unit_code": unit,
            "unit_label": label,
            "net_content": net,
            "net_content_unit": net_unit,
            "vat_treatment": vat,
            "programme": programme,
            "bulog_supplied": bulog,
            "price_caps": json.dumps([]),
            "search_text": product_search_text(full_name, name_en, category),
        }
        rows.append((row, price + (i // len(BASES)) * price // 50))
    return rows


async def insert_products(conn: asyncpg.Connection, count: int = 300) -> list[SeededProduct]:
    rows = catalogue(count)
    columns = list(rows[0][0])
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await conn.executemany(
        f"INSERT INTO products ({', '.join(columns)}, created_at, updated_at) "
        f"VALUES ({placeholders}, now(), now())",
        [tuple(row[c] for c in columns) for row, _ in rows],
    )
    await conn.execute(
        "CREATE TEMP TABLE bench_products (n int PRIMARY KEY, id uuid, category text, price bigint)"
    )
    await conn.executemany(
        "INSERT INTO bench_products VALUES ($1, $2, $3, $4)",
        [(i, row["id"], row["category"], price) for i, (row, price) in enumerate(rows)],
    )
    return [
        SeededProduct(id=row["id"], name=str(row["name"]), category=str(row["category"]), price=p)  # type: ignore[arg-type]
        for row, p in rows
    ]


async def insert_sellers(conn: asyncpg.Connection, count: int, *, kinds_sql: str) -> None:
    """`count` seller organizations over `CITIES`, kept in the temp table `bench_sellers`
    (n, id, kind, region_code). `kinds_sql` is an SQL expression of `g` for the kind."""
    city_codes = "ARRAY[" + ", ".join(f"'{code}'" for code, _ in CITIES) + "]"
    city_names = "ARRAY[" + ", ".join(f"'{name}'" for _, name in CITIES) + "]"
    await conn.execute(
        f"""
        CREATE TEMP TABLE bench_sellers AS
        SELECT g AS n, gen_random_uuid() AS id, ({kinds_sql}) AS kind,
               ({city_codes})[1 + g % {len(CITIES)}]
                 || '.' || lpad((1 + (g / {len(CITIES)}) % 9)::text, 2, '0')
                 || '.' || (1001 + (g / 7) % 20)::text AS region_code,
               ({city_names})[1 + g % {len(CITIES)}] AS city
        FROM generate_series(0, {count - 1}) AS g;
        CREATE UNIQUE INDEX ON bench_sellers (n);
        INSERT INTO organizations (id, kind, name, slug, region_code, city, time_zone,
                                   vat_registered, created_at, updated_at)
        SELECT id, kind,
               CASE kind WHEN 'cooperative' THEN 'Koperasi Merah Putih ' || city || ' ' || n
                         WHEN 'umkm' THEN 'UMKM Pangan ' || city || ' ' || n
                         ELSE upper(kind) || ' ' || city || ' ' || n END,
               'bench-seller-' || n, region_code, city, 'Asia/Jakarta', kind <> 'umkm',
               now(), now()
        FROM bench_sellers;
        """
    )


SELLER_KINDS_SQL = (
    "CASE WHEN g % 20 < 14 THEN 'cooperative' WHEN g % 20 < 17 THEN 'umkm' "
    "WHEN g % 20 < 19 THEN 'bumn' ELSE 'bulog' END"
)


def tiers_sql(price: str) -> str:
    return (
        f"jsonb_build_array("
        f"jsonb_build_object('min_quantity', 1, 'unit_price', {price}), "
        f"jsonb_build_object('min_quantity', 10, 'unit_price', {price} * 97 / 100), "
        f"jsonb_build_object('min_quantity', 100, 'unit_price', {price} * 94 / 100))"
    )


# Where every benchmark's buyer cooks: an MBG kitchen in Kota Mojokerto.
KITCHEN_REGION = "35.76.02.1003"


async def kitchen_with_key(database_url: str) -> tuple[Principal, str]:
    """An MBG kitchen in `KITCHEN_REGION` with a buyer API key, made by the production
    service."""
    kind, region_code, city = OrganizationKind.KITCHEN, KITCHEN_REGION, "Kota Mojokerto"
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with unit_of_work(create_session_factory(engine)) as uow:
            service = AccountsService(uow)
            suffix = uuid.uuid4().hex[:10]
            org = await service.create_organization(
                None,
                OrganizationCreate(
                    kind=kind,
                    name=f"SPPG Bench {suffix}",
                    slug=f"bench-buyer-{suffix}",
                    region_code=region_code,
                    city=city,
                ),
            )
            key, raw = await service.create_api_key(None, org.id, ApiKeyCreate(role=Role.BUYER))
            await uow.commit()
        principal = Principal(
            api_key_id=key.id, organization_id=org.id, organization_kind=kind, role=Role.BUYER
        )
        return principal, raw
    finally:
        await engine.dispose()
