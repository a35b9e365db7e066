"""Pure vocabulary of the reports context: months, programme targets, growth and shares.

Every ratio is in basis points (1 % = 100 bps), an integer rounded down, or None where its
base is zero (growth against a month with no sales is not a number).
"""

from __future__ import annotations

import datetime as dt
import re

from marketplace.errors import Conflict, NotFound, ValidationFailed

# Kota Mojokerto's programme targets for its KKMP (Dinas Koperasi, 2025): turnover +30 %
# a year, members +20 % a year (shared/domain-facts.md). An office's own targets are kept
# on its oversight row; these are the defaults a new grant starts with.
DEFAULT_TURNOVER_TARGET_BPS = 3000
DEFAULT_MEMBERS_TARGET_BPS = 2000
MAX_TARGET_BPS = 100_000
# A report covers at most three years of months (one page of figures, one statement each).
MAX_MONTHS = 36

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
# A region code prefix: a province `35`, a city `35.76`, a district `35.76.02`, a village.
REGION_PREFIX = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"


class InvalidMonthRange(ValidationFailed):
    code = "reports.invalid_month_range"
    title = "The months asked for are not a range this report covers"


class OversightExists(Conflict):
    code = "reports.oversight_exists"
    title = "This office already oversees that region"


class OversightNotFound(NotFound):
    code = "reports.oversight_not_found"
    title = "No such oversight grant"


class CooperativeNotFound(NotFound):
    code = "reports.cooperative_not_found"
    title = "No cooperative of that id in your reach"


class OfficeNotFound(NotFound):
    code = "reports.office_not_found"
    title = "No office of that id in your reach"


class NotAnOffice(ValidationFailed):
    code = "reports.not_an_office"
    title = "Only a government organization can be given oversight"


def parse_month(text: str) -> dt.date:
    """`YYYY-MM` → the month's first day."""
    found = _MONTH.fullmatch(text)
    if found is None:
        raise InvalidMonthRange("A month is written YYYY-MM, e.g. 2026-03.", month=text)
    return dt.date(int(found.group(1)), int(found.group(2)), 1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_range(first: str, last: str) -> list[dt.date]:
    """Every month from `first` to `last` (YYYY-MM, both included), at most MAX_MONTHS."""
    start, end = parse_month(first), parse_month(last)
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    if count < 1 or count > MAX_MONTHS:
        raise InvalidMonthRange(
            f"From must not be after to, and a report covers at most {MAX_MONTHS} months.",
            months=count,
            max_months=MAX_MONTHS,
        )
    return [add_months(start, i) for i in range(count)]


def share_bps(part: int, whole: int) -> int | None:
    """`part` of `whole` in basis points, rounded down; None of nothing."""
    if whole <= 0:
        return None
    return part * 10_000 // whole


def growth_bps(current: int, previous: int) -> int | None:
    """Growth from `previous` to `current` in basis points (floor); None from nothing."""
    if previous <= 0:
        return None
    return (current - previous) * 10_000 // previous


def target_of(previous: int, target_bps: int) -> int:
    """The turnover the programme expects this month: a year before, grown by the target
    (whole rupiah, rounded down)."""
    return previous * (10_000 + target_bps) // 10_000


def attainment_bps(current: int, previous: int, target_bps: int) -> int | None:
    """How much of the target was reached, in basis points (10 000 = on target)."""
    return share_bps(current, target_of(previous, target_bps))


__all__ = [
    "DEFAULT_MEMBERS_TARGET_BPS",
    "DEFAULT_TURNOVER_TARGET_BPS",
    "MAX_MONTHS",
    "MAX_TARGET_BPS",
    "REGION_PREFIX",
    "CooperativeNotFound",
    "InvalidMonthRange",
    "NotAnOffice",
    "OfficeNotFound",
    "OversightExists",
    "OversightNotFound",
    "add_months",
    "attainment_bps",
    "growth_bps",
    "month_range",
    "parse_month",
    "share_bps",
    "target_of",
]
