"""Reports: what a city's cooperative office (Dinas Koperasi) sees of its cooperatives.

Owns the oversight grants (`report_oversights`: a `government` office, a region code
prefix, its programme targets — turnover and members growth a year, defaults from the
Mojokerto programme), set by the platform only. Computes the cooperatives' figures per
local month and in total by SQL aggregation (GROUPING SETS in PostgreSQL, never rows in
Python) over the other contexts' tables, which it reads by name in its own
`figures_repository` and never writes; none of them imports it. An office sees only the
cooperatives of its region (another is not found), a cooperative only itself.
"""

from marketplace.reports.domain import month_range
from marketplace.reports.domain.figures import CooperativeFigures, Figures, MonthFigures
from marketplace.reports.service import CooperativeReport, OversightRecord, ReportService

__all__ = [
    "CooperativeFigures",
    "CooperativeReport",
    "Figures",
    "MonthFigures",
    "OversightRecord",
    "ReportService",
    "month_range",
]
