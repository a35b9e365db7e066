"""What the clerk's and the consignor's forms share: reading numbers and reasons, and the
Indonesian sentence for a service's refusal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marketplace.errors import DomainError
from marketplace.web import i18n
from marketplace.web.formats import rupiah
from marketplace.web.i18n import gettext_ as _
from marketplace.web.refusals import refusal_reason

MAX_QUANTITY = 10_000_000
MAX_PRICE = 10_000_000_000
MAX_REASON = 500


def whole_number(raw: str, *, low: int = 1, high: int = MAX_QUANTITY) -> int | None:
    """The number written in a field (dots between thousands allowed), if within bounds."""
    text = raw.strip().replace(".", "").replace(" ", "")
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(text) > 12:
        return None
    value = int(text)
    return value if low <= value <= high else None


def percent_of(bps: int) -> str:
    """Basis points as a percentage the way the page's language writes it (`12,5`)."""
    whole, rest = divmod(bps, 100)
    if not rest:
        return str(whole)
    text = f"{bps / 100:.2f}".rstrip("0")
    return text.replace(".", ",") if i18n.current_language() == "id" else text


def reason_of(raw: str) -> str | None:
    text = raw.strip()
    return text[:MAX_REASON] if text else None


def refusal_text(refusal: DomainError) -> str:
    """A service's refusal as a sentence for the person at the counter."""
    extra: Mapping[str, Any] = refusal.extra
    code = refusal.code
    if code == "auth.forbidden":
        return _("Your role may not do this. Ask your administrator.")
    if code == "listings.price_above_cap" and "cap" in extra:
        return _("The price is above the price cap (HET) of %(cap)s here.") % {
            "cap": rupiah(int(extra["cap"]))
        }
    if code == "consignment.received_more_than_proposed":
        return _("Only %(n)d were proposed: the received quantity can't be more.") % {
            "n": int(extra.get("proposed", 0))
        }
    if code == "consignment.agreement_exists":
        return _("This UMKM already has an active agreement here.")
    if code == "consignment.not_a_consignor":
        return _("Only a UMKM can consign goods.")
    if code == "consignment.agreement_not_active":
        return _("The consignment agreement has ended: no new goods can be placed.")
    if code == "consignment.intake_not_proposed":
        return _("This intake was already confirmed or rejected.")
    if code == "consignment.return_exceeds_stock":
        return _("That is more than the goods still here (reserved goods stay for orders).")
    if code == "consignment.payout_already_paid":
        return _("This payout was already marked paid with another bank reference.")
    if code == "orders.leg_waits_for_lot":
        return _("This delivery ships when its Bulog lot has been received.")
    if code in ("state.invalid_transition", "orders.not_cancellable"):
        return _("This can't be done in the state it is in now.")
    if code == "procurement.lot_not_awaiting_delivery":
        return _("This lot is not awaiting delivery any more.")
    if code == "procurement.receipt_exceeds_order":
        return _("That is more than the lot ordered.")
    if code in ("listings.insufficient_stock", "listings.invalid_stock_movement"):
        return _("Stock can't go below what is reserved for orders, or below zero.")
    if code == "listings.invalid_price_tiers":
        return _("Each tier needs a larger minimum quantity and a lower price than the one before.")
    return _("This was refused: %(reason)s") % {"reason": refusal_reason(refusal)}
