"""Programme rules of an order (pure): who may buy SPHP rice, and how much a day.

SPHP is Bulog's price-stabilisation rice: sold to consumers only — never to MBG kitchens,
wholesale or resale buyers (`domain.SPHP_RETAIL_BUYER_KINDS`) — and, from 2026, up to 5
packs (25 kg) per consumer per day (`SplitPolicy.sphp_max_grams_per_day`, a setting). The
day's weight sums every SPHP line of the order, whatever the pack, on top of what the
buyer already ordered that day (read by the caller, under a lock when placing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from marketplace.orders.domain import (
    Buyer,
    ProductRule,
    ProgrammeRestricted,
    RequestedLine,
    SplitPolicy,
)

SPHP_PROGRAMME = "sphp"
"""Bulog's price-stabilisation rice: retail only, limited per consumer per day."""


def asks_for_sphp(lines: Iterable[RequestedLine], products: Iterable[ProductRule]) -> bool:
    """Whether any line is of SPHP rice: then the caller reads (and, placing, locks) what
    the buyer already ordered today."""
    sphp = {rule.product_id for rule in products if rule.programme == SPHP_PROGRAMME}
    return any(line.product_id in sphp for line in lines)


# Why each kind of organization may not order SPHP rice (see `SPHP_RETAIL_BUYER_KINDS`).
_SPHP_REFUSED_BECAUSE = {
    "kitchen": "an MBG kitchen must not be supplied with SPHP rice",
    "cooperative": (
        "a cooperative receives SPHP rice from its Bulog branch through Bulog lots and "
        "sells it; it may not buy it for resale"
    ),
}


def check_programmes(
    lines: list[RequestedLine],
    rules: Mapping[UUID, ProductRule],
    buyer: Buyer,
    policy: SplitPolicy,
    bought_today: int,
) -> None:
    # The limit is per consumer per day: it sums every SPHP line of the order, whatever
    # the pack, on top of what the buyer already ordered that day.
    requested = 0
    limit = policy.sphp_max_grams_per_day
    crossing: RequestedLine | None = None
    for line in lines:
        rule = rules[line.product_id]
        if rule.programme != SPHP_PROGRAMME:
            continue
        if buyer.kind not in policy.sphp_allowed_buyer_kinds:
            why = _SPHP_REFUSED_BECAUSE.get(
                buyer.kind, f"SPHP rice is sold to consumers only, not to a {buyer.kind}"
            )
            raise _sphp_refusal(
                line,
                "buyer_kind_not_allowed",
                why,
                buyer_kind=buyer.kind,
                allowed_buyer_kinds=sorted(policy.sphp_allowed_buyer_kinds),
            )
        if rule.unit_net_grams is None:
            why = "the product has no net weight, so the SPHP daily limit cannot be checked"
            raise _sphp_refusal(line, "unit_weight_unknown", why)
        requested += line.quantity * rule.unit_net_grams
        if crossing is None and bought_today + requested > limit:
            crossing = line
    if crossing is not None:
        why = (
            f"SPHP rice is limited to {limit:,} g per buyer per day; {bought_today:,} g "
            f"were ordered today and this order asks for {requested:,} g"
        ).replace(",", ".")
        raise _sphp_refusal(
            crossing,
            "over_daily_weight_limit",
            why,
            max_grams=limit,
            bought_today_grams=bought_today,
            requested_grams=requested,
            grams=bought_today + requested,
        )


def _sphp_refusal(
    line: RequestedLine, reason: str, why: str, **figures: int | str | list[str]
) -> ProgrammeRestricted:
    return ProgrammeRestricted(
        f"line {line.line_no}: {why}",
        line_no=line.line_no,
        programme=SPHP_PROGRAMME,
        reason=reason,
        **figures,
    )
