"""Documents: the papers that change hands at the door, as numbered PDFs with a QR code.

Owns the surat jalan (delivery note) of a shipped leg, the BAST (goods receipt) of a
delivered leg, an order's invoice per supplier, a government purchase order's invoice and
a consignment statement's laporan: each issued once per object (the same number on every
download), numbered per issuer, series and year with no gaps and no duplicates
(`documents_counters`, in the transaction that inserts the document), with the facts it was
issued with stored beside it, and a random public token behind the QR code's public
verification page. Sits above orders, consignment, procurement, listings and accounts,
whose services it reads with the caller's principal (the objects' own visibility); none of
them imports it.
"""

from marketplace.documents.domain import DocumentFacts, DocumentKind, DocumentNotReady
from marketplace.documents.domain.amounts import rupiah
from marketplace.documents.fortnight import ReportBundle, TwoWeeklyReportService
from marketplace.documents.fortnight_rendering import report_csv_response, report_pdf_response
from marketplace.documents.rendering import file_name, pdf_response, render_pdf, verification_url
from marketplace.documents.service import DocumentService, IssuedDocument

__all__ = [
    "DocumentFacts",
    "DocumentKind",
    "DocumentNotReady",
    "DocumentService",
    "IssuedDocument",
    "ReportBundle",
    "TwoWeeklyReportService",
    "file_name",
    "pdf_response",
    "render_pdf",
    "report_csv_response",
    "report_pdf_response",
    "rupiah",
    "verification_url",
]
