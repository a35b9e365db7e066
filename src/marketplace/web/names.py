"""The words the pages use for the services' codes: categories, leg kinds, states."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marketplace.web.i18n import gettext_ as _
from marketplace.web.i18n import per_language


@per_language
def _category_labels() -> dict[str, str]:
    return {
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


def category_label(code: str) -> str:
    return _category_labels().get(code, code)


@per_language
def _leg_kind_labels() -> dict[str, str]:
    return {
        "stock": _("from stock"),
        "consignment": _("consignment (UMKM)"),
        "bulog_lot": _("Bulog lot"),
        "trade_contract": _("trade contract"),
    }


def leg_kind_label(code: str) -> str:
    return _leg_kind_labels().get(str(code), str(code))


@per_language
def _status_labels() -> dict[str, str]:
    return {
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


def status_label(code: str) -> str:
    return _status_labels().get(str(code), str(code))


@per_language
def _weekday_labels() -> dict[str, str]:
    return {
        "1": _("Monday"),
        "2": _("Tuesday"),
        "3": _("Wednesday"),
        "4": _("Thursday"),
        "5": _("Friday"),
        "6": _("Saturday"),
        "7": _("Sunday"),
    }


def weekday_label(day: str) -> str:
    return _weekday_labels().get(day, day)


def order_state_label(order: Any, legs: Iterable[Any]) -> str:
    """An order's state in the buyer's words. "Partly fulfilled" covers goods on the way
    as well as some received; the buyer is told which it is."""
    if str(order.status) == "partially_fulfilled":
        delivered = any(str(leg.status) == "delivered" for leg in legs)
        return _("Partly received") if delivered else _("On the way")
    return status_label(order.status)


@per_language
def _weekday_shorts() -> dict[str, str]:
    return {
        "1": _("Mon"),
        "2": _("Tue"),
        "3": _("Wed"),
        "4": _("Thu"),
        "5": _("Fri"),
        "6": _("Sat"),
        "7": _("Sun"),
    }


def weekday_short(day: str) -> str:
    return _weekday_shorts().get(day, day)
