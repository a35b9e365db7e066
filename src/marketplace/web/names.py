"""The words the pages use for the services' codes: categories, leg kinds, states."""

from __future__ import annotations

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
