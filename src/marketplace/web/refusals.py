"""A placement's refusal as Indonesian sentences with its figures, by the line concerned.

The services raise `DomainError`s with stable codes and the figures that explain them
(`extra`); the pages say them in the reader's language. A refusal of one line is keyed by
its line number (1, 2, … as the cart lists them), one of the whole order by 0.
"""

from __future__ import annotations

from typing import Any

from marketplace import problem_catalogue
from marketplace.errors import DomainError
from marketplace.web import i18n
from marketplace.web.formats import rupiah
from marketplace.web.i18n import gettext_ as _

WHOLE_ORDER = 0


def reason_of(code: str | None, detail: str | None) -> str:
    """Why a service refused, in the page's language, for a refusal no page has its own
    sentence for. A service's detail is English: in Indonesian the problem catalogue's
    translation of that detail where it has one, else the code's Indonesian title (the
    same words the API answers with `Accept-Language: id`)."""
    known = problem_catalogue.entry(code) if code else None
    if known is None:
        return detail or code or "?"
    if i18n.current_language() == "id":
        translated = known.details.get(detail) if detail else None
        return translated or known.title_id
    return detail or known.title


def refusal_reason(refusal: DomainError) -> str:
    return reason_of(refusal.code, refusal.detail)


def _kg(grams: Any) -> str:
    return f"{int(grams) / 1000:,.0f}".replace(",", ".")


def over_budget(*, total: int, envelope: int, committed: int) -> list[str]:
    """The preview's warning when the order would not fit the period's envelope."""
    remaining = envelope - committed
    return [
        _(
            "This order costs %(total)s but only %(remaining)s of the period's "
            "%(envelope)s remains (%(over)s too much)."
        )
        % {
            "total": rupiah(total),
            "remaining": rupiah(remaining),
            "envelope": rupiah(envelope),
            "over": rupiah(total - remaining),
        }
    ]


def sentences(refusal: DomainError) -> dict[int, list[str]]:
    """Line number (0: the whole order) → what to tell the kitchen."""
    extra = refusal.extra
    said: dict[int, list[str]] = {}
    if refusal.code == "orders.budget_exceeded":
        said[WHOLE_ORDER] = over_budget(
            total=extra["order_total"], envelope=extra["envelope"], committed=extra["committed"]
        )
    elif refusal.code == "orders.insufficient_supply":
        for short in extra.get("shortfalls", []):
            said.setdefault(short["line_no"], []).append(
                _("Only %(available)d of the %(requested)d asked for can be supplied.")
                % {
                    "available": short["requested"] - short["unfilled"],
                    "requested": short["requested"],
                }
            )
    elif refusal.code == "orders.programme_restricted":
        line = int(extra.get("line_no", WHOLE_ORDER))
        if extra.get("reason") == "over_daily_weight_limit":
            text = _(
                "SPHP rice is limited to %(limit)s kg per buyer per day: %(bought)s kg were "
                "ordered today and this order asks for %(asked)s kg."
            ) % {
                "limit": _kg(extra["max_grams"]),
                "bought": _kg(extra["bought_today_grams"]),
                "asked": _kg(extra["requested_grams"]),
            }
        else:
            text = _("SPHP rice is sold to consumers only, not to this organization.")
        said[line] = [text]
    elif refusal.code == "orders.delivery_in_past":
        said[WHOLE_ORDER] = [_("The delivery date is in the past.")]
    elif refusal.code == "orders.delivery_too_far":
        said[WHOLE_ORDER] = [
            _("Orders are taken for delivery at most %(days)d days ahead.")
            % {"days": extra["horizon_days"]}
        ]
    elif refusal.code == "auth.forbidden":
        said[WHOLE_ORDER] = [_("Your role may not place orders. Ask your administrator.")]
    elif refusal.code == "orders.not_cancellable":
        said[WHOLE_ORDER] = [_("Only an order with nothing shipped yet can be cancelled.")]
    else:
        said[WHOLE_ORDER] = [
            _("The order could not be placed: %(why)s") % {"why": refusal_reason(refusal)}
        ]
    return said
