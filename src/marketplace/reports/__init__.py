"""Reports: what a city's cooperative office (Dinas Koperasi) sees of its cooperatives.

Owns the oversight grants (`report_oversights`: a `government` office, a region code
prefix, its programme targets — turnover and members growth a year, defaults from the
Mojokerto programme), set by the platform only; the cooperatives' member counts, month by
month, as each records them; and the monthly roll-up of the other contexts' figures
(`report_monthly_*`: per cooperative and local month), which the database keeps up by
triggers in the transactions that write the sources (migration 0024 says which rows count
and how). The report aggregates the roll-up in SQL (GROUPING SETS in PostgreSQL, never rows
in Python) in its own `figures_repository`; no other context imports it or writes its
tables. An office sees only the cooperatives of its region (another is not found), a
cooperative only itself.
"""

from marketplace.reports.domain import month_range
from marketplace.reports.domain.figures import CooperativeFigures, Figures, MonthFigures
from marketplace.reports.domain.members import MAX_MEMBERS, Members
from marketplace.reports.service import (
    CooperativeReport,
    MemberCountRecord,
    OversightRecord,
    ReportService,
)

__all__ = [
    "MAX_MEMBERS",
    "CooperativeFigures",
    "CooperativeReport",
    "Figures",
    "MemberCountRecord",
    "Members",
    "MonthFigures",
    "OversightRecord",
    "ReportService",
    "month_range",
]
