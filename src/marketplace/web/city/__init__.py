"""The city cooperative office's pages (`/kota`): its cooperatives' figures by month, as
server-rendered SVG charts with the numbers in tables beside them, and each table as CSV.
Reads `reports.ReportService` with the person's principal: an office sees its region, a
cooperative itself."""
