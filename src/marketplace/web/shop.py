"""Shopping: search the catalogue, the cart, its split preview, placing the order.

The cart lives in the server-side session (it survives a reload and a closed browser,
for the session's life): product lines, and the `Idempotency-Key` made for that cart.
The key changes whenever the cart does and goes when the order is placed, so a double
tap or a resubmitted "Pesan" form places one order (`run_idempotent`, as the API's
order endpoint). Search goes through the listings context's catalogue service (the API's
search), the preview and the placement through `orders.OrderPlacement`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Response, get, post
from litestar.response import Redirect

from marketplace import clock
from marketplace.accounts import OrganizationDirectory, OrganizationRecord
from marketplace.dependencies import READ_ONLY, UoW, read_pool
from marketplace.errors import DomainError, NotFound
from marketplace.http import PRICE_KEY, InvalidCursor, decode_cursor, paginate
from marketplace.idempotency import run_idempotent
from marketplace.listings import CatalogueService, ListingService
from marketplace.listings.domain import ProductCategory, SearchFilters
from marketplace.orders import (
    OrderCreate,
    OrderPlacement,
    StandingOrderService,
    placement_policy,
)
from marketplace.web import refusals
from marketplace.web.controller import PageRequest, SignedIn, field_of, safe_next, signed_in
from marketplace.web.i18n import gettext_ as _
from marketplace.web.names import category_label, leg_kind_label
from marketplace.web.pages import render

SEARCH_PAGE = 20
MAX_QUANTITY = 100_000


# An offer as the page shows it. Structs, not dicts: Jinja reads `o.name` by attribute
# first, and on a dict each attribute was an AttributeError caught before the key lookup
# (a page of 20 offers reads ~300 of them).
class Tier(msgspec.Struct, frozen=True):
    min_quantity: int
    unit_price: int


class Offer(msgspec.Struct, frozen=True, kw_only=True):
    listing_id: uuid.UUID
    product_id: uuid.UUID
    seller: OrganizationRecord | None
    region_code: str
    tiers: list[Tier]
    min_order: int
    available: int
    supply_mode: str
    name: str
    unit_label: str
    category: str


_decode_tiers = msgspec.json.Decoder(list[Tier]).decode


class PlacedAnswer(msgspec.Struct, frozen=True):
    """What an idempotent placement stores to replay: the order it placed."""

    order_id: uuid.UUID


def cart_of(request: PageRequest) -> dict[str, Any]:
    cart: dict[str, Any] = request.session.get("cart") or {}
    cart.setdefault("lines", [])
    cart.setdefault("key", str(uuid.uuid4()))
    for line in cart["lines"]:  # carts kept from before lines were per offer
        line.setdefault("key", line["product_id"])
    return cart


def add_line(cart: dict[str, Any], new: dict[str, Any]) -> None:
    for line in cart["lines"]:
        if line["key"] == new["key"]:
            line["quantity"] = min(MAX_QUANTITY, line["quantity"] + new["quantity"])
            return
    cart["lines"].append(new)


def any_supplier(cart: dict[str, Any], key: str) -> None:
    """A line pinned to one offer becomes one any supplier may fill (nearest first)."""
    for line in list(cart["lines"]):
        if line["key"] == key and line.get("listing_id"):
            cart["lines"].remove(line)
            add_line(
                cart,
                {**line, "key": line["product_id"], "listing_id": None, "seller": ""},
            )
            return


AREAS = ("kota", "provinsi", "semua")


def area_prefix(region_code: str, area: str) -> str | None:
    """Kemendagri codes: `35` the province, `35.76` the city or regency."""
    if area == "semua":
        return None
    return region_code[:2] if area == "provinsi" else region_code[:5]


def area_label(area: str, city: str) -> str:
    if area == "kota":
        return _("My city (%(city)s)") % {"city": city}
    return _("My province") if area == "provinsi" else _("All regions")


def _keep(request: PageRequest, cart: dict[str, Any], *, changed: bool) -> None:
    if changed:
        cart["key"] = str(uuid.uuid4())  # another cart, another order
    request.session["cart"] = cart


def _quantity(raw: str) -> int | None:
    try:
        quantity = int(raw.strip())
    except ValueError:
        return None
    return quantity if 0 <= quantity <= MAX_QUANTITY else None


def _day(raw: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


async def _standing_target(uow: UoW, acting: SignedIn, raw: str) -> Any:
    """Belanja opened from a standing order adds its offers to that template."""
    try:
        return await StandingOrderService(uow).get(acting.principal, uuid.UUID(raw))
    except (ValueError, NotFound):
        return None


async def _buyer(acting: SignedIn, uow: UoW) -> OrganizationRecord:
    buyer = await OrganizationDirectory(uow).get(acting.membership.organization_id)
    if buyer is None:
        raise NotFound("No such organization.")
    return buyer


def _order_body(cart: dict[str, Any], day: dt.date, region: str, address: str) -> OrderCreate:
    return msgspec.convert(
        {
            "lines": [
                {
                    "product_id": line["product_id"],
                    "listing_id": line.get("listing_id"),
                    "quantity": line["quantity"],
                }
                for line in cart["lines"]
            ],
            "delivery": {"date": day.isoformat(), "region_code": region, "address": address},
        },
        OrderCreate,
    )


class ShopController(Controller):
    path = "/"
    include_in_schema = False

    @get("/belanja", dependencies=READ_ONLY)
    async def shop_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        params = request.query_params
        query = field_of(params, "q").strip()[:100]
        category = field_of(params, "kategori")
        chosen = category if category in set(ProductCategory) else ""
        buyer = acting.membership
        area = field_of(params, "wilayah")
        area = area if area in AREAS else "kota"
        filters = SearchFilters(
            query=query or None,
            category=chosen or None,
            in_stock=True,
            region_prefix=area_prefix(buyer.region_code, area),
        )
        try:
            after = decode_cursor(field_of(params, "setelah") or None, PRICE_KEY)
        except InvalidCursor:
            after = None  # an edited link starts from the first page
        rows = await CatalogueService(read_pool(request.app.state)).search_page(
            acting.principal, filters, after=after, limit=SEARCH_PAGE + 1
        )
        page, next_cursor = paginate(rows, SEARCH_PAGE, lambda row: [row[8], row[0]])
        sellers = await OrganizationDirectory(uow).get_many(sorted({row[2] for row in page}))
        offers = [
            Offer(
                listing_id=row[0],
                product_id=row[1],
                seller=sellers.get(row[2]),
                region_code=row[6],
                tiers=_decode_tiers(row[7]),
                min_order=row[9],
                available=max(0, row[10] - row[11]),
                supply_mode=row[12],
                name=row[17],
                unit_label=row[19],
                category=category_label(row[5]),
            )
            for row in page
        ]
        standing = await _standing_target(uow, acting, field_of(params, "rutin"))
        search = {"q": query, "kategori": chosen, "wilayah": area}
        if standing is not None:
            search["rutin"] = str(standing.id)
        # Search as you type asks only for the offers (htmx); a plain GET gets the page.
        template = "_offers.html" if request.headers.get("hx-target") == "offers" else "shop.html"
        return render(
            request,
            template,
            membership=acting.membership,
            query=query,
            category=chosen,
            area=area,
            areas=[(value, area_label(value, buyer.city)) for value in AREAS],
            categories=[(c.value, category_label(c.value)) for c in ProductCategory],
            offers=offers,
            search=urlencode(search),
            next_page=urlencode({**search, "setelah": next_cursor}) if next_cursor else None,
            first_page=after is not None,
            cart=cart_of(request),
            added=field_of(params, "ditambah"),
            standing=standing,
        )

    @post("/keranjang/tambah", status_code=303)
    async def add_to_cart(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        quantity = _quantity(field_of(form, "quantity"))
        try:
            listing_id = uuid.UUID(field_of(form, "listing_id"))
            listing, product = await ListingService(uow).get(acting.principal, listing_id)
        except (ValueError, NotFound):
            return render(request, "not_found.html", status=404)
        back = safe_next(field_of(form, "next") or "/belanja")
        if quantity:
            seller = await OrganizationDirectory(uow).get(listing.seller_organization_id)
            cart = cart_of(request)
            # The offer tapped is the one ordered from; the cart can let others supply it.
            add_line(
                cart,
                {
                    "key": str(listing.id),
                    "product_id": str(product.id),
                    "listing_id": str(listing.id),
                    "seller": seller.name if seller else "",
                    "name": product.name,
                    "unit_label": product.unit_label,
                    "quantity": quantity,
                },
            )
            _keep(request, cart, changed=True)
        joiner = "&" if "?" in back else "?"
        return Redirect(f"{back}{joiner}ditambah={product.id}", status_code=303)

    @get("/keranjang", dependencies=READ_ONLY)
    async def cart_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        buyer = acting.membership
        tomorrow = clock.today_in(buyer.time_zone) + dt.timedelta(days=1)
        return render(
            request,
            "cart.html",
            membership=buyer,
            cart=cart_of(request),
            day=tomorrow,
            address=f"{buyer.organization_name}, {buyer.city}",
        )

    @post("/keranjang/ubah", status_code=303)
    async def change_cart(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        key = field_of(form, "line")
        quantity = _quantity(field_of(form, "quantity"))
        cart = cart_of(request)
        if field_of(form, "pemasok") == "mana-saja":
            any_supplier(cart, key)
            _keep(request, cart, changed=True)
        elif quantity is not None:
            for line in cart["lines"]:
                if line["key"] == key:
                    line["quantity"] = quantity
            cart["lines"] = [line for line in cart["lines"] if line["quantity"] > 0]
            _keep(request, cart, changed=True)
        return Redirect("/keranjang", status_code=303)

    @get("/periksa")
    async def preview_page(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await _preview(request, uow, acting, refusal=None)

    @post("/pesan", status_code=303)
    async def place(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        key = field_of(form, "cart_key")
        placed: dict[str, str] = request.session.get("placed") or {}
        if key in placed:  # the form sent again after its order was placed
            return Redirect(f"/pesanan/{placed[key]}", status_code=303)
        cart = cart_of(request)
        if not cart["lines"] or key != cart["key"]:
            return Redirect("/keranjang", status_code=303)
        buyer = await _buyer(acting, uow)
        settings = request.app.state.settings
        placement = OrderPlacement(
            uow,
            placement_policy(settings),
            delivery_horizon_days=settings.order_delivery_horizon_days,
        )
        try:
            data = _order_body(
                cart,
                _day(field_of(form, "tanggal"), dt.date.min),
                buyer.region_code,
                field_of(form, "alamat").strip(),
            )

            async def action() -> PlacedAnswer:
                order = await placement.place(acting.principal, data)
                return PlacedAnswer(order_id=order.order.id)

            answer = await run_idempotent(
                uow,
                organization_id=acting.principal.organization_id,
                key=key,
                operation="orders.place",
                request=data,
                response_type=PlacedAnswer,
                action=action,
            )
        except DomainError as refusal:
            await uow.rollback()
            return await _preview(request, uow, acting, refusal=refusal)
        except msgspec.ValidationError:
            return await _preview(request, uow, acting, refusal=None, bad_delivery=True)
        order_id = str(answer.content.order_id)
        request.session["cart"] = None
        request.session["placed"] = {key: order_id}
        return Redirect(f"/pesanan/{order_id}", status_code=303)


async def _preview(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    *,
    refusal: DomainError | None,
    bad_delivery: bool = False,
) -> Response[Any]:
    """The split preview of the cart, with a refusal's sentences by their lines."""
    source: Any = request.query_params if request.method == "GET" else await request.form()
    cart = cart_of(request)
    if not cart["lines"]:
        return Redirect("/keranjang")
    buyer = await _buyer(acting, uow)
    tomorrow = clock.today_in(buyer.time_zone) + dt.timedelta(days=1)
    day = _day(field_of(source, "tanggal"), tomorrow)
    address = field_of(source, "alamat").strip() or f"{buyer.name}, {buyer.city}"
    said: dict[int, list[str]] = refusals.sentences(refusal) if refusal else {}
    if bad_delivery:
        said.setdefault(refusals.WHOLE_ORDER, []).append(
            _("Check the delivery date and the address.")
        )
    context: dict[str, Any] = {"plan": None, "budget": None, "suppliers": {}}
    settings = request.app.state.settings
    try:
        data = _order_body(cart, day, buyer.region_code, address)
        placement = OrderPlacement(
            uow,
            placement_policy(settings),
            delivery_horizon_days=settings.order_delivery_horizon_days,
        )
        plan, budget = await placement.preview(acting.principal, data)
    except DomainError as refused:
        if refusal is None:
            said = refusals.sentences(refused)
    except msgspec.ValidationError:
        said.setdefault(refusals.WHOLE_ORDER, []).append(
            _("Check the delivery date and the address.")
        )
    else:
        suppliers = await OrganizationDirectory(uow).get_many(
            sorted({leg.planned.supplier_org_id for leg in plan.legs})
        )
        for short in plan.shortfalls:
            said.setdefault(short.line_no, []).append(
                _("Only %(available)d of the %(requested)d asked for can be supplied.")
                % {"available": short.requested - short.unfilled, "requested": short.requested}
            )
        if budget is not None and plan.total > budget.envelope - budget.committed:
            said.setdefault(refusals.WHOLE_ORDER, []).extend(
                refusals.over_budget(
                    total=plan.total, envelope=budget.envelope, committed=budget.committed
                )
            )
        context = {"plan": plan, "budget": budget, "suppliers": suppliers}
    lines = [
        {**line, "no": number, "legs": [], "said": said.get(number, [])}
        for number, line in enumerate(cart["lines"], start=1)
    ]
    if context["plan"] is not None:
        for leg in context["plan"].legs:
            lines[leg.planned.line_no - 1]["legs"].append(leg)
    return render(
        request,
        "preview.html",
        status=422 if refusal or bad_delivery else 200,
        membership=acting.membership,
        cart=cart,
        lines=lines,
        said=list(dict.fromkeys(said.get(refusals.WHOLE_ORDER, []))),
        day=day,
        address=address,
        kind_label=leg_kind_label,
        **context,
    )


__all__ = ["ShopController"]
