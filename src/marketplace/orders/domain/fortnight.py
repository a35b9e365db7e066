"""The kitchen's two-weekly report to BGN (pure): its dates, its shares, the supplier rule.

Kitchens report every two weeks (a budget period of 10 operating days, or any range of the
kitchen's local dates up to `MAX_REPORT_DAYS`) with every delivery and its BAST; the
programme asks a kitchen to buy from at least `MIN_SUPPLIERS` suppliers. A share is a
part of the spend in percent with one decimal, rounded half up (0 when nothing was spent).
"""

from __future__ import annotations

import datetime as dt

from marketplace.errors import ValidationFailed

MIN_SUPPLIERS = 15
MAX_REPORT_DAYS = 31
# A region code's first 5 characters are its regency or city (`35.76` = Kota Mojokerto).
CITY_PREFIX_LENGTH = 5


class InvalidReportRange(ValidationFailed):
    code = "orders.invalid_report_range"
    title = "The report's dates are not a range of at most 31 days"


def report_range(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """`start` to `end`, both included: ordered, and at most `MAX_REPORT_DAYS` long."""
    if end < start:
        raise InvalidReportRange("The last day comes before the first.", start=start, end=end)
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise InvalidReportRange(
            f"A report covers at most {MAX_REPORT_DAYS} days.", start=start, end=end
        )
    return start, end


def share_tenths(part: int, whole: int) -> int:
    """`part` of `whole` in tenths of a percent, rounded half up; 0 of nothing is 0."""
    if whole <= 0:
        return 0
    return (part * 1000 * 2 + whole) // (whole * 2)


def suppliers_missing(distinct_suppliers: int) -> int:
    """How many more suppliers the kitchen needs to meet the programme's minimum."""
    return max(0, MIN_SUPPLIERS - distinct_suppliers)


def city_of(region_code: str) -> str:
    return region_code[:CITY_PREFIX_LENGTH]


__all__ = [
    "MAX_REPORT_DAYS",
    "MIN_SUPPLIERS",
    "InvalidReportRange",
    "city_of",
    "report_range",
    "share_tenths",
    "suppliers_missing",
]
