"""The words the pages use for the services' codes: categories, leg kinds, states."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marketplace.web.i18n import gettext_ as _


def category_label(code: str) -> str:
    labels = {
        "rice": _("Rice"),
        "oil": _("Cooking oil"),
        "sugar": _("Sugar"),
        "eggs": _("Eggs"),
        "flour": _("Flour"),
        "meat": _("Meat"),
        "vegetables": _("Vegetables"),
        "fruit": _("Fruit"),
        "spices": _("Spices"),
        "processed_food": _("Processed food"),
        "other": _("Other"),
    }
    return labels.get(code, code)


def leg_kind_label(code: str) -> str:
    labels = {
        "stock": _("from stock"),
        "consignment": _("consignment (UMKM)"),
        "bulog_lot": _("Bulog lot"),
        "trade_contract": _("trade contract"),
    }
    return labels.get(str(code), str(code))


def status_label(code: str) -> str:
    labels = {
        "placed": _("Placed"),
        "confirmed": _("Confirmed"),
        "partially_fulfilled": _("Partly delivered"),
        "fulfilled": _("Delivered"),
        "completed": _("Completed"),
        "cancelled": _("Cancelled"),
        "reserved": _("Reserved"),
        "shipped": _("Shipped"),
        "delivered": _("Delivered"),
    }
    return labels.get(str(code), str(code))


def weekday_label(day: str) -> str:
    labels = {
        "1": _("Monday"),
        "2": _("Tuesday"),
        "3": _("Wednesday"),
        "4": _("Thursday"),
        "5": _("Friday"),
        "6": _("Saturday"),
        "7": _("Sunday"),
    }
    return labels.get(day, day)


def order_state_label(order: Any, legs: Iterable[Any]) -> str:
    """An order's state in the buyer's words. "Partly fulfilled" covers goods on the way
    as well as some received; the buyer is told which it is."""
    if str(order.status) == "partially_fulfilled":
        delivered = any(str(leg.status) == "delivered" for leg in legs)
        return _("Partly received") if delivered else _("On the way")
    return status_label(order.status)


def weekday_short(day: str) -> str:
    labels = {
        "1": _("Mon"),
        "2": _("Tue"),
        "3": _("Wed"),
        "4": _("Thu"),
        "5": _("Fri"),
        "6": _("Sat"),
        "7": _("Sun"),
    }
    return labels.get(day, day)
