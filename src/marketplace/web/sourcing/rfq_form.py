"""The officer's RFQ form: read and check its fields, then the API's `RfqCreate`.

Every refusal is an Indonesian sentence keyed by the field it belongs next to; the
service's own refusals (a deadline in the past, delivery before quotes close, a product
gone from the catalogue) are put next to the field they are about.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from marketplace.errors import DomainError
from marketplace.procurement import RfqCreate
from marketplace.web.i18n import gettext_ as _
from marketplace.web.refusals import refusal_reason

ITEM_ROWS = 5
TEXT_FIELDS = ("title", "delivery_date", "region_code", "address", "budget_code", "deadline")
REGION = re.compile(r"^\d{2}\.\d{2}(\.\d{2}(\.\d{4})?)?$")
MAX_QUANTITY = 10_000_000


def item_fields() -> list[str]:
    return [f"{kind}-{n}" for n in range(1, ITEM_ROWS + 1) for kind in ("product", "quantity")]


def read_rfq_form(
    values: dict[str, str], time_zone: str, products: set[uuid.UUID]
) -> tuple[RfqCreate | None, dict[str, str]]:
    """The RFQ to publish, or the refusals next to their fields."""
    errors: dict[str, str] = {}
    if not values["title"] or len(values["title"]) > 200:
        errors["title"] = _("Write a title for the request: up to 200 characters.")
    items: list[dict[str, Any]] = []
    seen: set[uuid.UUID] = set()
    for n in range(1, ITEM_ROWS + 1):
        raw_product, raw_quantity = values[f"product-{n}"], values[f"quantity-{n}"]
        if not raw_product and not raw_quantity:
            continue
        try:
            product = uuid.UUID(raw_product)
        except ValueError:
            errors[f"product-{n}"] = _("Choose a product from the catalogue.")
            continue
        if product not in products:
            errors[f"product-{n}"] = _("Choose a product from the catalogue.")
            continue
        if product in seen:
            errors[f"product-{n}"] = _("This product is already listed: write its total once.")
            continue
        seen.add(product)
        if not raw_quantity.isdigit() or not 1 <= int(raw_quantity) <= MAX_QUANTITY:
            errors[f"quantity-{n}"] = _("Write the quantity: a whole number, 1 or more.")
            continue
        items.append({"product_id": str(product), "quantity": int(raw_quantity)})
    if not items and not any(k.startswith(("product-", "quantity-")) for k in errors):
        errors["product-1"] = _("Request at least one product.")
    try:
        delivery = dt.date.fromisoformat(values["delivery_date"])
    except ValueError:
        errors["delivery_date"] = _("Write the delivery date as a date.")
    if not REGION.match(values["region_code"]) or len(values["region_code"]) < 5:
        errors["region_code"] = _("Write the delivery region code, at least the city (35.76).")
    if not values["address"] or len(values["address"]) > 500:
        errors["address"] = _("Write the delivery address: up to 500 characters.")
    if not values["budget_code"] or len(values["budget_code"]) > 100:
        errors["budget_code"] = _("Write the budget code (RUP/DPA): up to 100 characters.")
    try:
        deadline = dt.datetime.fromisoformat(values["deadline"]).replace(tzinfo=ZoneInfo(time_zone))
    except ValueError:
        errors["deadline"] = _("Write the quote deadline as a date and time.")
    if errors:
        return None, errors
    body = {
        "title": values["title"],
        "items": items,
        "delivery": {
            "date": delivery.isoformat(),
            "region_code": values["region_code"],
            "address": values["address"],
        },
        "budget_code": values["budget_code"],
        "deadline": deadline.isoformat(),
    }
    try:
        return msgspec.convert(body, RfqCreate), {}
    except msgspec.ValidationError as refused:
        where = str(refused)
        if "delivery" in where:
            return None, {
                "delivery_date": _("This delivery date can't be used: choose a nearer date.")
            }
        if "deadline" in where:
            return None, {"deadline": _("This deadline can't be used: choose a nearer date.")}
        return None, {"title": _("The request could not be read: check every field.")}


def rfq_refusal(refusal: DomainError) -> dict[str, str]:
    """The service's refusal next to the field it is about."""
    if refusal.code == "auth.forbidden":
        return {"title": _("Your role may not publish requests for quotation.")}
    if refusal.code == "procurement.unknown_product":
        return {"product-1": _("Choose a product from the catalogue.")}
    if "delivery_date" in refusal.extra:
        return {"delivery_date": _("Delivery can't be required before quotes close.")}
    if "deadline" in refusal.extra:
        return {"deadline": _("The quote deadline must be in the future.")}
    return {
        "title": _("The request could not be published: %(why)s") % {"why": refusal_reason(refusal)}
    }


__all__ = ["ITEM_ROWS", "TEXT_FIELDS", "item_fields", "read_rfq_form", "rfq_refusal"]
