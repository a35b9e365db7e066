"""Stock: the listings an organization sells, with on hand / reserved / available, and for
each one receiving stock, a recount (an adjustment with its reason) and its price tiers.

The same pages serve a cooperative's clerk (its own goods and those it holds on
consignment) and a UMKM that sells from its own stock. Every change goes through
`ListingService` as the API's `POST /v1/listings/{id}/stock-movements` and `PATCH
/v1/listings/{id}`: only the listing's seller may change it; another organization's listing
is not found, even when it is in the public catalogue.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace import clock
from marketplace.dependencies import UoW
from marketplace.entity_tags import UNCONDITIONAL, IfMatch, PreconditionFailed
from marketplace.errors import DomainError, NotFound
from marketplace.listings import (
    ListingCreate,
    ListingService,
    ListingUpdate,
    PriceTierIn,
    ProductService,
    StockMovementCreate,
)
from marketplace.web.clerk.forms import MAX_PRICE, reason_of, refusal_text, whole_number
from marketplace.web.controller import (
    PageRequest,
    SignedIn,
    field_of,
    not_found_page,
    signed_in,
)
from marketplace.web.i18n import gettext_ as _
from marketplace.web.once import run_once
from marketplace.web.pages import render

LIMIT = 200
MOVEMENTS_SHOWN = 20
TIER_ROWS = 4


def movement_label(kind: str) -> str:
    labels = {
        "receive": _("Received"),
        "adjust": _("Recount"),
        "reserve": _("Reserved for an order"),
        "release": _("Released from an order"),
        "ship": _("Shipped"),
        "return": _("Handed back"),
    }
    return labels.get(str(kind), str(kind))


async def _managed(uow: UoW, acting: SignedIn, listing_id: uuid.UUID) -> Any | None:
    """The listing and its product if the acting organization sells it; None otherwise."""
    try:
        listing, product = await ListingService(uow).get(acting.principal, listing_id)
    except NotFound:
        return None
    if listing.seller_organization_id != acting.membership.organization_id:
        return None
    return listing, product


def shown_version(raw: str) -> IfMatch:
    """The precondition of a price form: the version of the listing it showed. A form from
    before versions were carried, with none, saves as it always did; one whose version is
    not a number matches no version (the page is shown again with what is saved)."""
    if not raw:
        return UNCONDITIONAL
    digits = raw.isascii() and raw.isdigit() and len(raw) < 19
    return IfMatch.of_version(int(raw) if digits else 0)


async def listing_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    listing_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    found = await _managed(uow, acting, listing_id)
    if found is None:
        return not_found_page(request)
    listing, product = found
    movements = await ListingService(uow).movements(
        acting.principal, listing.id, after=None, limit=LIMIT
    )
    tiers = list(listing.tiers) + [{}] * max(0, TIER_ROWS - len(listing.tiers))
    return render(
        request,
        "clerk/listing.html",
        status=status if status != 200 else (422 if errors else 200),
        membership=acting.membership,
        listing=listing,
        product=product,
        tiers=tiers,
        movements=sorted(movements, key=lambda m: m.created_at, reverse=True)[:MOVEMENTS_SHOWN],
        movement_label=movement_label,
        zone=acting.membership.time_zone,
        local_date=clock.local_date,
        errors=errors or {},
        values=values or {},
    )


async def stock_page(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int | None = None,
) -> Response[Any]:
    rows = await ListingService(uow).of_seller(acting.principal, after=None, limit=LIMIT)
    me = acting.membership.organization_id
    offered = await ProductService(uow).browse(query=None, category=None, after=None, limit=LIMIT)
    return render(
        request,
        "clerk/stock.html",
        status=status or (422 if errors else 200),
        membership=acting.membership,
        rows=sorted(
            [
                (listing, product)
                for listing, product in rows
                if listing.seller_organization_id == me
            ],
            key=lambda row: row[1].name,
        ),
        offered=sorted(offered, key=lambda p: p.name),
        errors=errors or {},
        values=values or {},
    )


class StockController(Controller):
    path = "/stok"
    include_in_schema = False

    @get("/")
    async def listings(self, request: PageRequest, uow: UoW) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await stock_page(request, uow, acting)

    @post("/baru", status_code=303)
    async def new_listing(self, request: PageRequest, uow: UoW) -> Response[Any]:
        """A listing of the seller's own goods, from stock (a UMKM's own shop too)."""
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        values = {n: field_of(form, n).strip() for n in ("product_id", "price", "opening")}
        errors: dict[str, str] = {}
        price = whole_number(values["price"], high=MAX_PRICE)
        if price is None:
            errors["price"] = _("Write your selling price in whole rupiah, such as 25000.")
        opening = whole_number(values["opening"] or "0", low=0)
        if opening is None:
            errors["opening"] = _("Write how many you have: a whole number, 0 or more.")
        try:
            product_id = uuid.UUID(values["product_id"])
        except ValueError:
            errors["product_id"] = _("Choose the product.")
        if errors or price is None or opening is None:
            return await stock_page(request, uow, acting, errors=errors, values=values)
        data = ListingCreate(
            product_id=product_id,
            price_tiers=[PriceTierIn(min_quantity=1, unit_price=price)],
            opening_stock=opening,
        )
        try:
            listing, _product = await ListingService(uow).create(acting.principal, data)
        except DomainError as refusal:
            await uow.rollback()
            field = "price" if refusal.code == "listings.price_above_cap" else "product_id"
            message = (
                _("You already sell this product: change that listing.")
                if refusal.code == "listings.listing_exists"
                else _("Choose the product.")
                if refusal.code == "not_found"
                else refusal_text(refusal)
            )
            return await stock_page(
                request,
                uow,
                acting,
                errors={field: message},
                values=values,
                status=422 if refusal.code == "not_found" else refusal.status,
            )
        await uow.commit()
        return Redirect(f"/stok/{listing.id}", status_code=303)

    @get("/{listing_id:uuid}")
    async def listing(
        self, request: PageRequest, uow: UoW, listing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        return await listing_page(request, uow, acting, listing_id)

    @post("/{listing_id:uuid}/terima", status_code=303)
    async def receive(
        self, request: PageRequest, uow: UoW, listing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        raw = field_of(form, "received")
        quantity = whole_number(raw)
        if quantity is None:
            errors = {"received": _("Write how many arrived: a whole number, 1 or more.")}
            return await listing_page(
                request, uow, acting, listing_id, errors=errors, values={"received": raw}
            )
        data = StockMovementCreate(
            kind="receive", quantity=quantity, reason=reason_of(field_of(form, "note"))
        )
        return await _move(request, uow, acting, listing_id, data, "received", raw, form)

    @post("/{listing_id:uuid}/hitung", status_code=303)
    async def recount(
        self, request: PageRequest, uow: UoW, listing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        found = await _managed(uow, acting, listing_id)
        if found is None:
            return not_found_page(request)
        listing = found[0]
        form = await request.form()
        raw, reason = field_of(form, "counted"), reason_of(field_of(form, "reason"))
        counted = whole_number(raw, low=0)
        values = {"counted": raw, "reason": field_of(form, "reason")}
        errors: dict[str, str] = {}
        if counted is None:
            errors["counted"] = _("Write how many you counted: a whole number, 0 or more.")
        elif counted == listing.on_hand:
            errors["counted"] = _("That is what the stock already says: nothing to correct.")
        if reason is None:
            errors["reason"] = _("Write why the count differs (damage, expiry, miscount...).")
        if errors or counted is None:
            return await listing_page(
                request, uow, acting, listing_id, errors=errors, values=values
            )
        data = StockMovementCreate(kind="adjust", quantity=counted - listing.on_hand, reason=reason)
        return await _move(request, uow, acting, listing_id, data, "counted", raw, form)

    @post("/{listing_id:uuid}/harga", status_code=303)
    async def prices(
        self, request: PageRequest, uow: UoW, listing_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        acting = await signed_in(request, uow)
        if isinstance(acting, Redirect):
            return acting
        form = await request.form()
        values: dict[str, str] = {}
        tiers: list[PriceTierIn] = []
        errors: dict[str, str] = {}
        for row in range(TIER_ROWS):
            raw_min = field_of(form, f"min-{row}").strip()
            raw_price = field_of(form, f"price-{row}").strip()
            values |= {f"min-{row}": raw_min, f"price-{row}": raw_price}
            if not raw_min and not raw_price:
                continue
            low = 1 if row == 0 else 2
            minimum, price = whole_number(raw_min, low=low), whole_number(raw_price, high=MAX_PRICE)
            if minimum is None or price is None:
                errors["tiers"] = _(
                    "Each tier needs a quantity from and a price, in whole numbers."
                )
                continue
            tiers.append(PriceTierIn(min_quantity=minimum, unit_price=price))
        if not tiers or tiers[0].min_quantity != 1:
            errors["tiers"] = _("The first tier starts at 1, so every quantity has a price.")
        if errors:
            return await listing_page(
                request, uow, acting, listing_id, errors=errors, values=values
            )
        try:
            await ListingService(uow).update(
                acting.principal,
                listing_id,
                ListingUpdate(price_tiers=tiers),
                shown_version(field_of(form, "version").strip()),
            )
        except NotFound:
            await uow.rollback()
            return not_found_page(request)
        except PreconditionFailed:
            # Someone saved meanwhile: the page shows what is saved now (and its version),
            # so the clerk checks it before saving again, rather than overwriting it.
            await uow.rollback()
            errors = {"tiers": _("Someone else just changed this. Check it, then save again.")}
            return await listing_page(request, uow, acting, listing_id, errors=errors, status=409)
        except DomainError as refusal:
            await uow.rollback()
            errors = {"tiers": refusal_text(refusal)}
            return await listing_page(
                request,
                uow,
                acting,
                listing_id,
                errors=errors,
                values=values,
                status=refusal.status,
            )
        await uow.commit()
        return Redirect(f"/stok/{listing_id}", status_code=303)


async def _move(
    request: PageRequest,
    uow: UoW,
    acting: SignedIn,
    listing_id: uuid.UUID,
    data: StockMovementCreate,
    field: str,
    raw: str,
    form: Any,
) -> Response[Any]:
    here = f"/stok/{listing_id}"

    async def record() -> str:
        await ListingService(uow).record_movement(acting.principal, listing_id, data)
        return here

    try:
        location = await run_once(
            uow,
            organization_id=acting.principal.organization_id,
            form=form,
            operation=f"listings.stock_{data.kind}",
            action=record,
            if_changed=here,
        )
    except NotFound:
        await uow.rollback()
        return not_found_page(request)
    except DomainError as refusal:
        await uow.rollback()
        return await listing_page(
            request,
            uow,
            acting,
            listing_id,
            errors={field: refusal_text(refusal)},
            values={field: raw},
            status=refusal.status,
        )
    return Redirect(location, status_code=303)


__all__ = ["StockController"]
